"""DataProcessing for batch transform: InputFilter, JoinSource and OutputFilter per record.

SageMaker's order (DG: batch-transform-data-processing): the InputFilter selects what of
each record the model gets; with ``JoinSource=Input`` the model's output for the record is
joined to the ORIGINAL, unfiltered record; the OutputFilter then selects what is written.

A record is a JSON value. A CSV line is the array of its fields, kept as strings and
written back as they were read (``1.50`` stays ``1.50``, a quoted field keeps its quotes);
JSON numbers are written back as written too. Joins: CSV output columns follow the input's
(``1,2,3`` + ``1`` → ``1,2,3,1``); a JSON object input gets the output under
``SageMakerOutput`` (replacing any such key); any other input becomes
``{"SageMakerInput": <input>, "SageMakerOutput": <output>}`` — so a CSV row joined to a
JSON answer is wrapped, its fields as strings.

Records and results are bytes without their line terminator; the caller splits and
assembles. Create-time problems raise :class:`InvalidDataProcessing` (the job's
ValidationException; a :class:`ProcessingError` too), per-record ones a plain
:class:`ProcessingError` (the file fails).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sagebrush.jobs.transform._jsonpath import InvalidPath, JsonPath, NoMatch, parse_path

__all__ = [
    "CSV",
    "FORMATS",
    "JSON",
    "JSONLINES",
    "InvalidDataProcessing",
    "InvalidPath",
    "JsonPath",
    "Processing",
    "ProcessingError",
    "media_type",
    "parse_path",
    "split_output",
]

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
FORMATS = (CSV, JSON, JSONLINES)
INPUT_KEY = "SageMakerInput"
OUTPUT_KEY = "SageMakerOutput"

_PLAIN_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')

# SageMaker checks a filter's characters before anything else and names the allowed ones
# per content type (aws/aws-sdk#184: "Unexpected "_" in JsonPath", no plan to allow "_").
# CSV rows only take index paths, so names, quotes and dots are refused for them.
_OPERATORS = {
    CSV: ("$", "[", "]", "*", " ", ",", ":", "-"),
    JSON: ("$", "[", "]", "*", ".", " ", ",", ":", "-", "'"),
    JSONLINES: ("$", "[", "]", "*", ".", " ", ",", ":", "-", "'"),
}


class ProcessingError(Exception):
    """A record the filters or the join cannot handle; the input file fails."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidDataProcessing(ProcessingError):
    """DataProcessing a job cannot run with: CreateTransformJob's ValidationException."""


def media_type(value: str | None) -> str:
    """``Text/CSV; charset=utf-8`` → ``text/csv``: what the format checks compare."""
    return (value or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Processing:
    input_filter: JsonPath | None  # None: "$", the record as it is
    output_filter: JsonPath | None
    join_input: bool
    input_format: str  # a FORMATS member ("" when nothing is processed)
    output_format: str

    @property
    def identity(self) -> bool:
        """Nothing to do per record: payloads and responses pass through untouched."""
        return not self.filters_input and not self.processes_output

    @property
    def filters_input(self) -> bool:
        return self.input_filter is not None

    @property
    def processes_output(self) -> bool:
        """Responses must be split per record and passed through :meth:`join_output`."""
        return self.join_input or self.output_filter is not None

    @classmethod
    def of_job(cls, request: Mapping[str, Any]) -> Processing:
        """The DataProcessing of a CreateTransformJob request, with the formats it reads."""
        source, output = request["TransformInput"], request["TransformOutput"]
        return cls.from_request(
            request.get("DataProcessing"),
            source.get("ContentType"),
            output.get("Accept"),
            source.get("SplitType", "None"),
            output.get("AssembleWith", "None"),
        )

    @classmethod
    def from_request(
        cls,
        data_processing: Mapping[str, object] | None,
        content_type: str | None,
        accept: str | None,
        split_type: str | None,
        assemble_with: str | None,
    ) -> Processing:
        spec = data_processing or {}
        input_text = str(spec.get("InputFilter") or "$")
        output_text = str(spec.get("OutputFilter") or "$")
        join_source = str(spec.get("JoinSource") or "None")
        if join_source not in ("Input", "None"):
            raise InvalidDataProcessing(
                f'Invalid JoinSource "{join_source}": it must be "Input" or "None"'
            )
        if input_text == "$" and output_text == "$" and join_source == "None":
            return cls(None, None, False, "", "")
        input_format = _format("ContentType", content_type)
        # Without an Accept the model answers in its default format; the SDK leaves Accept
        # unset by default, and the answer is then read as the request's format.
        output_format = _format("Accept", accept or content_type)
        input_filter = _filter("InputFilter", input_text, input_format)
        output_filter = _filter("OutputFilter", output_text, output_format)
        if input_format == CSV and (split_type or "None") != "Line":
            raise InvalidDataProcessing(
                'SplitType must be "Line" when ContentType is "text/csv" and '
                "DataProcessing filters or joins records"
            )
        if output_format == CSV and (assemble_with or "None") != "Line":
            raise InvalidDataProcessing(
                'AssembleWith must be "Line" when Accept is "text/csv" and '
                "DataProcessing filters or joins records"
            )
        return cls(
            None if input_filter.is_root else input_filter,
            None if output_filter.is_root else output_filter,
            join_source == "Input",
            input_format,
            output_format,
        )

    def filter_input(self, record: bytes) -> bytes:
        """What the model gets for one input record."""
        if self.input_filter is None:
            return bytes(record)
        value, plain = _read(record, self.input_format, "input")
        selected = _apply("InputFilter", self.input_filter, value)
        return _write(selected, self.input_format, plain)

    def join_output(self, input_record: bytes, output_record: bytes) -> bytes:
        """What is written for one record, given the record and the model's output for it."""
        if not self.processes_output:
            return bytes(output_record)
        value, plain = _read(output_record, self.output_format, "output from the algorithm")
        if self.join_input:
            source, plain_source = _read(input_record, self.input_format, "input")
            value = _join(source, value, self.output_format)
            plain = plain and plain_source
        if self.output_filter is not None:
            value = _apply("OutputFilter", self.output_filter, value)
        return _write(value, self.output_format, plain)


def _format(field: str, value: str | None) -> str:
    kind = media_type(value)
    if kind not in FORMATS:
        shown = f'"{value}"' if value else "not set"
        raise InvalidDataProcessing(
            f"{field} is {shown}: to filter or join records with DataProcessing, "
            f"ContentType and Accept must each be one of {', '.join(FORMATS)}"
        )
    return kind


def _filter(field: str, text: str, kind: str) -> JsonPath:
    operators = _OPERATORS[kind]
    for char in text:
        if char not in operators and not (char.isdigit() or (kind != CSV and char.isalpha())):
            allowed = ", ".join(f"'{op}'" for op in operators)
            raise InvalidDataProcessing(
                f'Invalid {field}: "{text}". Unexpected "{char}" in JsonPath. '
                f'Supported operators for "{kind}" are [{allowed}]'
            )
    try:
        return parse_path(text)
    except InvalidPath as error:
        raise InvalidDataProcessing(f'Invalid {field}: "{text}". {error.reason}') from None


def _apply(field: str, path: JsonPath, value: object) -> object:
    try:
        return path.select(value)
    except NoMatch as error:
        raise ProcessingError(
            f'{field} "{path.text}" failed on a record: {error.message}'
        ) from None


def _join(source: object, output: object, output_format: str) -> object:
    if output_format == CSV:
        if isinstance(source, list) and isinstance(output, list):
            return [*source, *output]
        raise ProcessingError(
            "A CSV output can be joined only to an input record that is an array "
            f"(a CSV row or a JSON array), not {_describe(source)}"
        )
    if isinstance(source, dict):
        return {**source, OUTPUT_KEY: output}
    return {INPUT_KEY: source, OUTPUT_KEY: output}


def split_output(body: bytes, accept: str, count: int) -> list[bytes]:
    """A response to ``count`` records, cut into the output of each, in order.

    CSV and JSON Lines answer a record per line (a final newline ends the last one, and
    ``\\r\\n`` is accepted). An ``application/json`` answer to one record is the whole body;
    to several, one JSON document holding a record per element — an array, or an object
    whose ``predictions`` array does (the built-in algorithms' and TensorFlow Serving's
    shape) — or else one JSON value per line. A count that differs is an error: outputs
    could not be matched to their records.
    """
    kind = media_type(accept)
    data = bytes(body)
    if kind in (CSV, JSONLINES) or (kind == JSON and count == 1):
        records = _lines(data) if kind != JSON else [data.removesuffix(b"\n")]
    elif kind == JSON:
        records = _json_records(data, count)
    else:
        raise ProcessingError(
            f'Cannot split a "{accept}" response into records: DataProcessing supports '
            f"{', '.join(FORMATS)}"
        )
    if len(records) != count:
        raise ProcessingError(
            f"The algorithm returned {len(records)} records for the {count} records sent"
        )
    return records


def _lines(data: bytes) -> list[bytes]:
    lines = data.removesuffix(b"\n").split(b"\n")
    return [line.removesuffix(b"\r") for line in lines]


def _json_records(data: bytes, count: int) -> list[bytes]:
    try:
        document, plain = _parse_json(data)
    except ValueError:
        return _lines(data)  # not one document: one JSON value per line
    if isinstance(document, dict) and isinstance(document.get("predictions"), list):
        document = document["predictions"]
    if not isinstance(document, list):
        raise ProcessingError(
            f"The algorithm returned {_describe(document)} for the {count} records sent; "
            'expected a JSON array, or an object with a "predictions" array, of one element '
            "per record"
        )
    return [_write(element, JSON, plain) for element in document]


# --- reading and writing records ------------------------------------------------------


class _Raw(str):
    """A CSV field whose text is not its value written plainly (quoted, or with a bare
    quote): written back exactly as read."""

    raw: str

    def __new__(cls, value: str, raw: str) -> _Raw:
        field = super().__new__(cls, value)
        field.raw = raw
        return field


class _Number(float):
    """A JSON number Python would write differently (``1.50``, ``2e3``), kept as written."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> _Number:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _read(data: bytes, kind: str, what: str) -> tuple[object, bool]:
    """The record's value, and whether the plain JSON encoder writes it back unchanged."""
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProcessingError(f"Failed to parse {what}: not UTF-8 text ({error})") from None
    try:
        return (_csv_row(text), True) if kind == CSV else _parse_json(text)
    except ValueError as error:
        shown = "CSV" if kind == CSV else "JSON"
        raise ProcessingError(f"Failed to parse {what} as {shown}: {error}") from None


def _parse_json(text: str | bytes) -> tuple[object, bool]:
    before = _kept_numbers[0]
    value = _DECODER.decode(text if isinstance(text, str) else text.decode("utf-8"))
    return value, _kept_numbers[0] == before


def _number(literal: str) -> float:
    # Numbers Python would write differently (1.50, 2e3) are kept as _Number, and counted:
    # only a value holding one needs the slow writer, the rest go through json's C encoder.
    # Across threads the count can only rise, so a parse never misses its own.
    value = float(literal)
    if repr(value) == literal:
        return value
    _kept_numbers[0] += 1
    return _Number(literal)


_kept_numbers = [0]
_DECODER = json.JSONDecoder(parse_float=_number)


def _csv_row(line: str) -> list[str]:
    """One RFC 4180 line (SageMaker refuses embedded newlines) as its fields."""
    if '"' not in line:
        return line.split(",")
    fields: list[str] = []
    at, size = 0, len(line)
    while True:
        if line.startswith('"', at):
            parts, pos = [], at + 1
            while True:
                quote = line.find('"', pos)
                if quote < 0:
                    raise ValueError(f"unterminated quoted field at column {at + 1}")
                parts.append(line[pos:quote])
                if not line.startswith('"', quote + 1):
                    break
                parts.append('"')
                pos = quote + 2
            end = quote + 1
            if end < size and line[end] != ",":
                raise ValueError(f'unexpected "{line[end]}" after a quoted field')
            fields.append(_Raw("".join(parts), line[at:end]))
        else:
            comma = line.find(",", at)
            end = size if comma < 0 else comma
            raw = line[at:end]
            fields.append(_Raw(raw, raw) if '"' in raw else raw)
        if end >= size:
            return fields
        at = end + 1


def _write(value: object, kind: str, plain: bool) -> bytes:
    if kind != CSV:
        return (_PLAIN_JSON.encode(value) if plain else _dump(value)).encode()
    if isinstance(value, dict):
        raise ProcessingError(f"A JSON object cannot be written as a CSV row: {_dump(value)}")
    fields = value if isinstance(value, list) else [value]
    # The common case, fields of a CSV line as they were split: nothing to quote.
    if set(map(type, fields)) <= {str}:
        texts = cast("list[str]", fields)
        if not _NEEDS_QUOTES.search("".join(texts)):
            return ",".join(texts).encode()
    return ",".join(map(_csv_field, fields)).encode()


def _csv_field(value: object) -> str:
    if isinstance(value, _Raw):
        return value.raw
    text = value if isinstance(value, str) else "" if value is None else _dump(value)
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _dump(value: object) -> str:
    """Compact JSON, numbers as they were read."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, _Number):
        return value.text
    if isinstance(value, list):
        return "[" + ",".join(_dump(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_dump(str(k))}:{_dump(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)  # null, booleans, integers; NaN as Python's json writes it


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return f"an array of {len(value)} elements"
    return f"the value {_dump(value)}"
