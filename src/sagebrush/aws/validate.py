"""Input validation against the model's constraints, before any provider runs.

AWS services check required members, enums, lengths, ranges and patterns server side and
answer with one error listing every problem; clients (and the SageMaker SDK's error
handling) rely on that wording, so it is reproduced here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from sagebrush.aws.errors import AwsError
from sagebrush.aws.streams import PayloadStream

_NUMBERS = ("integer", "long", "short", "byte", "float", "double")


def validate_input(
    operation: OperationModel,
    params: Mapping[str, Any],
    *,
    error_code: str = "ValidationException",
    required_only: bool = False,
) -> None:
    """Raise one :class:`AwsError` listing every constraint ``params`` break.

    ``required_only`` checks only that required members are present: S3 does not enforce
    most of its model's constraints, and clients depend on that leniency.
    """
    shape = operation.input_shape
    if shape is None:
        return
    problems: list[str] = []
    _Checker(problems, required_only).structure(shape, params, "")
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise AwsError(
            error_code,
            f"{count} validation {noun} detected: " + "; ".join(problems),
            400,
        )


# Java character properties Python's ``re`` lacks, as class contents that accept at least
# what Java accepts (``\w`` also admits digits and ``_``): a lenient check never rejects a
# valid request, while a missing one would let nothing through unchecked.
_PROPERTIES = {
    "L": r"\w",
    "N": r"\w",
    "Z": r"\s",
    "Zs": r"\s",
    "Alnum": "a-zA-Z0-9",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "ASCII": r"\x00-\x7f",
    "Print": r"\x20-\x7e",
    "Graph": r"\x21-\x7e",
    "Punct": r"!-/:-@\[-`{-~",
    "Space": r"\s",
}
_TOKEN_RE = re.compile(r"\\p\{(\w+)\}|\\z|\\.|\[|\]|.", re.DOTALL)


def _python_pattern(pattern: str) -> str | None:
    """Translate the Java-only parts of a model pattern; None where we cannot."""
    out: list[str] = []
    in_class = False
    for match in _TOKEN_RE.finditer(pattern):
        token = match.group(0)
        if match.group(1) is not None:
            inner = _PROPERTIES.get(match.group(1))
            if inner is None:
                return None
            out.append(inner if in_class else f"[{inner}]")
            continue
        if token == "\\z":
            token = "\\Z"
        elif token == "[":
            in_class = True
        elif token == "]":
            in_class = False
        out.append(token)
    return "".join(out)


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """Model patterns are Java regexes; the few we cannot translate are not checked.

    AWS matches the whole value (Java's ``Matcher.matches``), so callers use ``fullmatch``.
    """
    translated = _python_pattern(pattern)
    if translated is None:
        return None
    with warnings.catch_warnings():
        # "Possible nested set" FutureWarnings from Java-style classes are not our bug.
        warnings.simplefilter("ignore")
        try:
            return re.compile(translated)
        except (re.error, OverflowError, ValueError, RecursionError):
            return None


def _path_name(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return "java.nio.HeapByteBuffer"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


class _Checker:
    def __init__(self, problems: list[str], required_only: bool) -> None:
        self.problems = problems
        self.required_only = required_only

    def fail(self, value: Any, path: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{_render(value)}'"
        self.problems.append(
            f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
        )

    def structure(self, shape: StructureShape, value: Any, path: str) -> None:
        if not isinstance(value, Mapping) or shape.is_document_type:
            return
        required = set(shape.required_members)
        for name, member in shape.members.items():
            member_path = f"{path}.{_path_name(name)}" if path else _path_name(name)
            item = value.get(name)
            if item is None:
                if name in required:
                    self.fail(None, member_path, "Member must not be null")
                continue
            self.check(member, item, member_path)

    def check(self, shape: Shape, value: Any, path: str) -> None:
        if isinstance(value, PayloadStream):
            return
        if isinstance(shape, StructureShape):
            self.structure(shape, value, path)
            return
        if isinstance(shape, ListShape):
            if not isinstance(value, list):
                return
            self._length(shape, value, len(value), path)
            for index, item in enumerate(value, 1):
                if item is not None:
                    self.check(shape.member, item, f"{path}.{index}.member")
            return
        if isinstance(shape, MapShape):
            if not isinstance(value, Mapping):
                return
            self._length(shape, value, len(value), path)
            for key, item in value.items():
                self.check(shape.key, key, f"{path}.{key}.key")
                if item is not None:
                    self.check(shape.value, item, f"{path}.{key}.value")
            return
        if self.required_only:
            return
        if shape.type_name == "string" and isinstance(value, str):
            self._string(shape, value, path)
        elif shape.type_name == "blob" and isinstance(value, bytes | bytearray):
            self._length(shape, value, len(value), path)
        elif shape.type_name in _NUMBERS and isinstance(value, int | float):
            self._range(shape, value, path)

    def _string(self, shape: Shape, value: str, path: str) -> None:
        enum = shape.enum
        if enum and value not in enum:
            self.fail(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
            return
        self._length(shape, value, len(value), path)
        pattern = shape.metadata.get("pattern")
        if pattern:
            compiled = _compiled(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                self.fail(value, path, f"Member must satisfy regular expression pattern: {pattern}")

    def _length(self, shape: Shape, value: Any, length: int, path: str) -> None:
        if self.required_only:
            return
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if low is not None and length < low:
            self.fail(value, path, f"Member must have length greater than or equal to {low}")
        if high is not None and length > high:
            self.fail(value, path, f"Member must have length less than or equal to {high}")

    def _range(self, shape: Shape, value: float, path: str) -> None:
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if low is not None and value < low:
            self.fail(value, path, f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            self.fail(value, path, f"Member must have value less than or equal to {high}")
