"""Shape-directed JSON bodies, shared by the json and rest-json protocols.

Decoding is strict about types (AWS answers ``SerializationException`` for a string where
an integer belongs) but lenient about unknown members, which newer clients may send.
"""

from __future__ import annotations

import json
import math
from typing import Any

from botocore.model import MapShape, ServiceModel, Shape, StructureShape

from sagebrush.aws.errors import AwsError
from sagebrush.aws.protocols._result import error_shape
from sagebrush.aws.protocols._values import (
    ValueProblem,
    decode_blob,
    encode_blob,
    format_float,
    format_timestamp,
    parse_float,
    parse_timestamp,
)

_INTEGERS = ("integer", "long", "short", "byte")


def load_body(body: bytes) -> Any:
    """The JSON document of a request body; an empty body is an empty object."""
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueProblem(f"the request body is not valid JSON: {exc}") from exc


def dump_body(value: Any) -> bytes:
    # default=str: an error field nobody modeled must not turn an error into a 500.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def error_document(service: ServiceModel, error: AwsError) -> dict[str, Any]:
    """An error's extra fields, typed by the modeled error shape where there is one."""
    shape = error_shape(service, error.code)
    known = shape.members if shape is not None else {}
    document = {k: v for k, v in error.fields.items() if k not in known and v is not None}
    if shape is not None:
        document.update(encode_members(shape, error.fields))
    return document


def decode_value(shape: Shape, value: Any, path: str) -> Any:
    """Turn a parsed JSON value into the Python value a boto3 caller passes."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        if not isinstance(value, dict):
            raise _mismatch(path, "an object", value)
        return decode_members(shape, value, path)
    if kind == "list":
        if not isinstance(value, list):
            raise _mismatch(path, "an array", value)
        member = shape.member
        return [
            decode_value(member, item, f"{path}[{i}]")
            for i, item in enumerate(value)
            if item is not None
        ]
    if kind == "map":
        if not isinstance(value, dict):
            raise _mismatch(path, "an object", value)
        assert isinstance(shape, MapShape)
        return {
            decode_value(shape.key, key, f"{path} key"): decode_value(
                shape.value, item, f"{path}.{key}"
            )
            for key, item in value.items()
            if item is not None
        }
    return _decode_scalar(shape, value, path)


def decode_members(shape: StructureShape, value: dict[str, Any], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        raw = value.get(member.serialization.get("name", name))
        if raw is not None:
            out[name] = decode_value(member, raw, f"{path}.{name}" if path else name)
    return out


def _decode_scalar(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            raise _mismatch(path, "a string", value)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _mismatch(path, "a boolean", value)
        return value
    if kind in _INTEGERS:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _mismatch(path, "an integer", value)
        return value
    if kind in ("float", "double"):
        if isinstance(value, str):
            try:
                return parse_float(value)
            except ValueProblem:
                raise _mismatch(path, "a number", value) from None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _mismatch(path, "a number", value)
        return float(value)
    if kind == "timestamp":
        try:
            return parse_timestamp(value)
        except ValueProblem:
            raise _mismatch(path, "a timestamp", value) from None
    if kind == "blob":
        try:
            return decode_blob(value)
        except ValueProblem:
            raise _mismatch(path, "a base64-encoded blob", value) from None
    return value


def _mismatch(path: str, expected: str, value: Any) -> ValueProblem:
    got = "null" if value is None else type(value).__name__
    if isinstance(value, bool):
        got = "boolean"
    elif isinstance(value, dict):
        got = "object"
    elif isinstance(value, list):
        got = "array"
    elif isinstance(value, int | float):
        got = "number"
    elif isinstance(value, str):
        got = "string"
    where = f" at '{path}'" if path else ""
    return ValueProblem(f"Expected {expected}{where} but got {got}")


def encode_value(shape: Shape, value: Any) -> Any:
    """The JSON-ready form of a provider's value, as botocore's JSON parser reads it."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        return encode_members(shape, value)
    if kind == "list":
        member = shape.member
        return [encode_value(member, item) for item in value if item is not None]
    if kind == "map":
        assert isinstance(shape, MapShape)
        return {
            str(key): encode_value(shape.value, item)
            for key, item in value.items()
            if item is not None
        }
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        return format_timestamp(value, fmt)
    if kind == "blob":
        return encode_blob(value)
    if kind in ("float", "double"):
        number = float(value)
        return format_float(number) if not math.isfinite(number) else value
    if kind in _INTEGERS:
        return int(value)
    if kind == "boolean":
        return bool(value)
    return value


def encode_members(shape: StructureShape, value: Any) -> dict[str, Any]:
    """Body members only: members bound to headers or the status line are skipped."""
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        item = value.get(name)
        if item is not None:
            out[member.serialization.get("name", name)] = encode_value(member, item)
    return out
