"""What every serializer needs from a provider's result and from an error, whatever the wire."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.model import ServiceModel, StructureShape

from sagebrush.aws.http import OperationResult
from sagebrush.aws.protocols._values import format_timestamp


@dataclass(frozen=True)
class Outcome:
    """A result split into its model members and the HTTP extras that override them."""

    members: Mapping[str, Any]
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def split_result(result: Mapping[str, Any] | OperationResult) -> Outcome:
    if isinstance(result, OperationResult):
        return Outcome(result.members, result.status, result.headers)
    return Outcome(result)


def apply_extras(outcome: Outcome, status: int, headers: list[tuple[str, str]]) -> int:
    """Merge an :class:`OperationResult`'s headers into ``headers``; return the status."""
    for name, value in outcome.headers.items():
        lname = name.lower()
        headers[:] = [(k, v) for k, v in headers if k.lower() != lname]
        headers.append((name, value))
    return outcome.status if outcome.status is not None else status


def error_shape(service: ServiceModel, code: str) -> StructureShape | None:
    """The modeled error shape for ``code``, if the service declares one."""
    for shape in service.error_shapes:
        if shape.name == code or shape.metadata.get("error", {}).get("code") == code:
            return shape
    return None


def field_text(value: Any) -> str:
    """An error field as element text, for XML errors whose fields are not modeled."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return str(format_timestamp(value, "iso8601"))
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)
