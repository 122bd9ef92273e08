"""Scalar values on the wire: timestamps, blobs, numbers and booleans as text.

Every protocol carries scalars as text somewhere (headers, query strings, XML, form
fields), and each shape may override the timestamp format. Keeping the conversions here
means a timestamp parses the same whether it came in a header or an XML body.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from botocore.model import Shape

_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?"
)
_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")

# The strings botocore (and the JSON protocol) use for floats JSON cannot express.
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class ValueProblem(ValueError):
    """A wire value that does not fit its shape; each protocol renders it its own way."""


def parse_timestamp(value: object) -> datetime:
    """Any timestamp form a client may send (epoch seconds, ISO 8601, RFC 822) as UTC."""
    if isinstance(value, bool):
        raise ValueProblem(f"expected a timestamp, got {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        raise ValueProblem(f"expected a timestamp, got {type(value).__name__}")
    text = value.strip()
    if _NUMBER_RE.fullmatch(text):
        return _from_epoch(float(text))
    match = _ISO_RE.fullmatch(text)
    if match:
        return _from_iso(match)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueProblem(f"invalid timestamp {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueProblem(f"timestamp out of range: {seconds}") from exc


def _from_iso(match: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        stamp = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, UTC
        )
    except ValueError as exc:
        raise ValueProblem(f"invalid timestamp {match.group(0)!r}") from exc
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        stamp = datetime.fromtimestamp(stamp.timestamp() - offset, UTC)
    return stamp


def to_datetime(value: object) -> datetime:
    """A provider's timestamp (aware or naive-UTC datetime, epoch, or string) as UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return parse_timestamp(value)


def format_timestamp(value: object, fmt: str) -> str | float | int:
    """``fmt`` is a model ``timestampFormat``: iso8601, rfc822 or unixTimestamp."""
    stamp = to_datetime(value)
    if fmt == "unixTimestamp":
        seconds = stamp.timestamp()
        return int(seconds) if seconds.is_integer() else round(seconds, 3)
    if fmt == "rfc822":
        return format_datetime(stamp.replace(microsecond=0), usegmt=True)
    millis = stamp.microsecond // 1000
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def encode_blob(value: object) -> str:
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"blob value must be bytes, got {type(value).__name__}")
    return base64.b64encode(bytes(value)).decode("ascii")


def decode_blob(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueProblem(f"expected a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueProblem("invalid base64 value") from exc


def parse_float(text: str) -> float:
    special = _SPECIAL_FLOATS.get(text.strip())
    if special is not None:
        return special
    try:
        return float(text)
    except ValueError as exc:
        raise ValueProblem(f"expected a number, got {text!r}") from exc


def format_float(value: float) -> str | float:
    """Floats JSON cannot carry become the strings botocore reads back."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def scalar_from_text(shape: Shape, text: str) -> Any:
    """A scalar shape's value from its textual form (header, query string, XML, form)."""
    kind = shape.type_name
    if kind in ("integer", "long", "short", "byte"):
        try:
            return int(text.strip())
        except ValueError as exc:
            raise ValueProblem(f"expected an integer, got {text!r}") from exc
    if kind in ("float", "double"):
        return parse_float(text)
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise ValueProblem(f"expected true or false, got {text!r}")
        return lowered == "true"
    if kind == "timestamp":
        return parse_timestamp(text)
    if kind == "blob":
        return decode_blob(text)
    return text


def scalar_to_text(shape: Shape, value: Any, timestamp_format: str = "iso8601") -> str:
    """The textual form of a scalar: the inverse of :func:`scalar_from_text`."""
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", timestamp_format)
        return str(format_timestamp(value, fmt))
    if kind == "blob":
        return encode_blob(value)
    if kind in ("float", "double"):
        return str(format_float(float(value)))
    if kind in ("integer", "long", "short", "byte"):
        return str(int(value))
    return str(value)
