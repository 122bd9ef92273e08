"""What every SageMaker resource module shares: ARNs, errors, pagination tokens."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from botocore import xform_name

from sagebrush.aws.errors import AwsError
from sagebrush.services.base import Provider, RequestContext
from sagebrush.state.resources import ResourceStore


class SageMakerBase(Provider):
    service = "sagemaker"

    @property
    def resources(self) -> ResourceStore:
        return ResourceStore(self.runtime.db)

    def request_of(self, ctx: RequestContext, members: dict[str, Any]) -> dict[str, Any]:
        """The request with its member names as on the wire (providers get snake_case)."""
        shape = self.runtime.catalog.operation(ctx.service, ctx.operation).input_shape
        names = {xform_name(name): name for name in (shape.members if shape else {})}
        return {names[key]: value for key, value in members.items() if key in names}


def arn(ctx: RequestContext, resource_type: str, name: str) -> str:
    # SageMaker lowercases resource names in ARNs.
    return f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:{resource_type}/{name.lower()}"


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def not_found() -> AwsError:
    return validation("Requested resource not found.")


def in_use(message: str) -> AwsError:
    return AwsError("ResourceInUse", message)


def limit_exceeded(message: str) -> AwsError:
    return AwsError("ResourceLimitExceeded", message)


def encode_token(offset: int, query: dict[str, Any]) -> str:
    payload = json.dumps({"o": offset, "q": query}, sort_keys=True, default=str)
    return base64.urlsafe_b64encode(payload.encode()).decode()


def decode_token(token: str | None, query: dict[str, Any]) -> int:
    """The offset a NextToken stands for; it must come from the same query."""
    if not token:
        return 0
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(payload["o"])
        same = payload["q"] == json.loads(json.dumps(query, sort_keys=True, default=str))
    except (ValueError, KeyError, TypeError):
        same, offset = False, 0
    if not same or offset < 0:
        raise validation(
            "Invalid pagination token. Use the NextToken from the previous "
            "response of the same request."
        )
    return offset


def epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def tag_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or []}
