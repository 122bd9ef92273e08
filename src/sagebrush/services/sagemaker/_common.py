"""What every SageMaker resource module shares: ARNs, errors, pagination tokens."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from botocore import xform_name

from sagebrush.aws.errors import AwsError
from sagebrush.jobs.lifecycle import log_created
from sagebrush.services.base import Provider, RequestContext
from sagebrush.state.resources import Query, Resource, ResourceExists, ResourceStore


class SageMakerBase(Provider):
    service = "sagemaker"

    @property
    def resources(self) -> ResourceStore:
        return ResourceStore(self.runtime.db)

    def record_new(
        self,
        ctx: RequestContext,
        *,
        kind: str,
        name: str,
        arn: str,
        spec: Mapping[str, Any],
        status: str,
        secondary_status: str | None,
        tags: list[dict[str, str]] | None,
        exists: Callable[[str], AwsError],
        facts: Mapping[str, Any] | None = None,
    ) -> Resource:
        """Store a new resource (its spec as plain JSON); ``exists(arn)`` is the error for a
        name already taken."""
        try:
            created = self.resources.create(
                kind=kind,
                account_id=ctx.account_id,
                region=ctx.region,
                name=name,
                arn=arn,
                spec=json.loads(json.dumps(spec, default=str)),
                status=status,
                secondary_status=secondary_status,
                message="",
                now=self.runtime.clock(),
                facts=facts,
                tags=tag_map(tags),
            )
        except ResourceExists as exc:
            raise exists(exc.arn) from None
        log_created(created)
        return created

    def request_of(self, ctx: RequestContext, members: dict[str, Any]) -> dict[str, Any]:
        """The request with its member names as on the wire (providers get snake_case)."""
        shape = self.runtime.catalog.operation(ctx.service, ctx.operation).input_shape
        names = {xform_name(name): name for name in (shape.members if shape else {})}
        return {names[key]: value for key, value in members.items() if key in names}


_SORT = {"Name": "name", "CreationTime": "created", "Status": "status"}


@dataclass(frozen=True)
class Listing:
    """A List* request's paging, filter and sort members (those an operation lacks stay None)."""

    next_token: str | None = None
    max_results: int | None = None
    name_contains: str | None = None
    creation_time_after: datetime | None = None
    creation_time_before: datetime | None = None
    last_modified_time_after: datetime | None = None
    last_modified_time_before: datetime | None = None
    status_equals: str | None = None
    sort_by: str | None = None
    sort_order: str | None = None

    @classmethod
    def of(cls, members: dict[str, Any]) -> Listing:
        """From a List* request's members (snake_case); those it does not page, filter or
        sort by (ListTrainingJobs' WarmPoolStatusEquals...) are not applied."""
        return cls(**{f.name: members.get(f.name) for f in fields(cls)})

    def page(
        self, resources: ResourceStore, ctx: RequestContext, kind: str
    ) -> tuple[list[Resource], str | None]:
        """One page, oldest-last by default, and the NextToken for the next (None at the end)."""
        filters: dict[str, Any] = {
            "after": epoch(self.creation_time_after),
            "before": epoch(self.creation_time_before),
            "mafter": epoch(self.last_modified_time_after),
            "mbefore": epoch(self.last_modified_time_before),
            "name": self.name_contains,
            "status": self.status_equals,
            "sort": self.sort_by,
            "order": self.sort_order,
        }
        offset = decode_token(self.next_token, filters)
        page = resources.page(
            Query(
                kind=kind,
                account_id=ctx.account_id,
                region=ctx.region,
                name_contains=self.name_contains,
                created_after=filters["after"],
                created_before=filters["before"],
                modified_after=filters["mafter"],
                modified_before=filters["mbefore"],
                statuses=(self.status_equals,) if self.status_equals else (),
                sort_by=_SORT[self.sort_by or "CreationTime"],
                descending=(self.sort_order or "Descending") == "Descending",
                offset=offset,
                limit=self.max_results or 10,
            )
        )
        token = encode_token(page.next_offset, filters) if page.next_offset is not None else None
        return page.items, token


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
