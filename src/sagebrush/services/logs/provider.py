"""CloudWatch Logs: the operations a log producer and the sagemaker SDK's log tailing use.

Groups and streams are rows of the log store (:mod:`sagebrush.state.logs`), keyed by account
and region; events are durable once PutLogEvents answers. Retention is stored and applied
as events are read. Everything the SDK depends on is in ``docs/architecture.md`` ("Logs").
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sagebrush.services.base import Provider, RequestContext, Runtime
from sagebrush.services.logs import _events
from sagebrush.services.logs._errors import already_exists, invalid, store_errors
from sagebrush.services.logs._tokens import invalid_token, listing_token, parse_listing_token
from sagebrush.state.logs import (
    AlreadyExists,
    GroupRecord,
    LogStore,
    StreamRecord,
    stream_key,
)

RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


class LogsProvider(Provider):
    service = "logs"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.store = LogStore(runtime.db, runtime.clock)

    # --- log groups ---------------------------------------------------------------------------

    def create_log_group(
        self,
        ctx: RequestContext,
        *,
        log_group_name: str,
        kms_key_id: str | None = None,
        tags: dict[str, str] | None = None,
        log_group_class: str | None = None,
    ) -> dict[str, Any]:
        try:
            self.store.create_group(
                ctx.account_id,
                ctx.region,
                log_group_name,
                kms_key_id=kms_key_id,
                log_group_class=log_group_class,
                tags=json.dumps(tags or {}),
            )
        except AlreadyExists:
            raise already_exists("log group") from None
        return {}

    def delete_log_group(self, ctx: RequestContext, *, log_group_name: str) -> dict[str, Any]:
        with store_errors():
            self.store.delete_group(ctx.account_id, ctx.region, log_group_name)
        return {}

    def describe_log_groups(
        self,
        ctx: RequestContext,
        *,
        log_group_name_prefix: str | None = None,
        log_group_name_pattern: str | None = None,
        next_token: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        if log_group_name_prefix and log_group_name_pattern:
            raise invalid("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive.")
        after = parse_listing_token(next_token) if next_token else None
        if after is not None and not isinstance(after, str):
            raise invalid_token()
        limit = limit or 50
        groups = self.store.describe_groups(
            ctx.account_id,
            ctx.region,
            prefix=log_group_name_prefix,
            contains=log_group_name_pattern,
            after=after,
            limit=limit + 1,
        )
        result: dict[str, Any] = {"logGroups": [_group(g) for g in groups[:limit]]}
        if len(groups) > limit:
            result["nextToken"] = listing_token(groups[limit - 1].name)
        return result

    def put_retention_policy(
        self, ctx: RequestContext, *, log_group_name: str, retention_in_days: int
    ) -> dict[str, Any]:
        if retention_in_days not in RETENTION_DAYS:
            raise invalid(
                f"1 validation error detected: Value '{retention_in_days}' at "
                "'retentionInDays' failed to satisfy constraint: Member must satisfy enum "
                f"value set: [{', '.join(map(str, RETENTION_DAYS))}]"
            )
        with store_errors():
            self.store.set_retention(ctx.account_id, ctx.region, log_group_name, retention_in_days)
        return {}

    def delete_retention_policy(
        self, ctx: RequestContext, *, log_group_name: str
    ) -> dict[str, Any]:
        with store_errors():
            self.store.set_retention(ctx.account_id, ctx.region, log_group_name, None)
        return {}

    # --- log streams --------------------------------------------------------------------------

    def create_log_stream(
        self, ctx: RequestContext, *, log_group_name: str, log_stream_name: str
    ) -> dict[str, Any]:
        try:
            with store_errors():
                self.store.create_stream(
                    ctx.account_id, ctx.region, log_group_name, log_stream_name
                )
        except AlreadyExists:
            raise already_exists("log stream") from None
        return {}

    def delete_log_stream(
        self, ctx: RequestContext, *, log_group_name: str, log_stream_name: str
    ) -> dict[str, Any]:
        with store_errors():
            self.store.delete_stream(ctx.account_id, ctx.region, log_group_name, log_stream_name)
        return {}

    def describe_log_streams(
        self,
        ctx: RequestContext,
        *,
        log_group_name: str | None = None,
        log_group_identifier: str | None = None,
        log_stream_name_prefix: str | None = None,
        order_by: str | None = None,
        descending: bool | None = None,
        next_token: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """A page of streams; ``nextToken`` only when more streams exist beyond it.

        The sagemaker SDK re-sends the same call, without the token, for as long as it sees
        one: a token on a complete page would make it loop forever.
        """
        group = _group_name(log_group_name, log_group_identifier)
        order = order_by or "LogStreamName"
        if order == "LastEventTime" and log_stream_name_prefix:
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        after: tuple[int, str] | None = None
        if next_token:
            key = parse_listing_token(next_token)
            if not (isinstance(key, list) and len(key) == 3 and key[0] == order):
                raise invalid_token()
            after = (int(key[1]), str(key[2]))
        limit = limit or 50
        with store_errors():
            streams = self.store.describe_streams(
                ctx.account_id,
                ctx.region,
                group,
                prefix=log_stream_name_prefix,
                order_by=order,
                descending=bool(descending),
                after=after,
                limit=limit + 1,
            )
        arn = _group_arn(ctx, group)
        result: dict[str, Any] = {"logStreams": [_stream(arn, s) for s in streams[:limit]]}
        if len(streams) > limit:
            result["nextToken"] = listing_token([order, *stream_key(streams[limit - 1], order)])
        return result

    # --- log events ---------------------------------------------------------------------------
    # These can move many rows (a 10,000-event batch, a filter scan), so they run on a worker
    # thread: the event loop keeps serving other requests meanwhile.

    async def put_log_events(
        self,
        ctx: RequestContext,
        *,
        log_group_name: str,
        log_stream_name: str,
        log_events: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Append a batch. ``sequenceToken`` is ignored, as AWS now ignores it."""
        where = (ctx.account_id, ctx.region, log_group_name, log_stream_name)
        with store_errors():
            return await asyncio.to_thread(_events.put, self.store, where, log_events)

    async def get_log_events(
        self,
        ctx: RequestContext,
        *,
        log_stream_name: str,
        log_group_name: str | None = None,
        log_group_identifier: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        next_token: str | None = None,
        limit: int | None = None,
        start_from_head: bool | None = None,
    ) -> dict[str, Any]:
        group = _group_name(log_group_name, log_group_identifier)
        with store_errors():
            return await asyncio.to_thread(
                _events.get,
                self.store,
                (ctx.account_id, ctx.region, group, log_stream_name),
                start_time=start_time,
                end_time=end_time,
                next_token=next_token,
                limit=limit,
                start_from_head=start_from_head,
            )

    async def filter_log_events(
        self,
        ctx: RequestContext,
        *,
        log_group_name: str | None = None,
        log_group_identifier: str | None = None,
        log_stream_names: list[str] | None = None,
        log_stream_name_prefix: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        filter_pattern: str | None = None,
        next_token: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Matching events of a group, always interleaved in time order across streams."""
        group = _group_name(log_group_name, log_group_identifier)
        with store_errors():
            return await asyncio.to_thread(
                _events.filter_group,
                self.store,
                ctx.account_id,
                ctx.region,
                group,
                stream_names=log_stream_names,
                stream_prefix=log_stream_name_prefix,
                start_time=start_time,
                end_time=end_time,
                filter_pattern=filter_pattern,
                next_token=next_token,
                limit=limit,
            )


def _group_name(name: str | None, identifier: str | None) -> str:
    """The group a request names, by ``logGroupName`` or by ``logGroupIdentifier`` (name/ARN)."""
    if name and identifier:
        raise invalid("LogGroupName and LogGroupIdentifier are mutually exclusive.")
    given = name or identifier
    if not given:
        raise invalid("Either LogGroupName or LogGroupIdentifier must be specified.")
    if given.startswith("arn:"):
        _, found, rest = given.partition(":log-group:")
        if not found or not rest:
            raise invalid(f"Invalid log group identifier: {given}")
        return rest.removesuffix(":*")
    return given


def _group_arn(ctx: RequestContext, group: str) -> str:
    return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{group}"


def _group(g: GroupRecord) -> dict[str, Any]:
    arn = f"arn:aws:logs:{g.region}:{g.account_id}:log-group:{g.name}"
    out: dict[str, Any] = {
        "logGroupName": g.name,
        "creationTime": g.created,
        "metricFilterCount": 0,
        "arn": f"{arn}:*",
        "logGroupArn": arn,
        "storedBytes": g.stored_bytes,
        "logGroupClass": g.log_group_class,
    }
    if g.retention_days is not None:
        out["retentionInDays"] = g.retention_days
    if g.kms_key_id:
        out["kmsKeyId"] = g.kms_key_id
    return out


def _stream(group_arn: str, s: StreamRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "logStreamName": s.name,
        "creationTime": s.created,
        "arn": f"{group_arn}:log-stream:{s.name}",
        "storedBytes": s.stored_bytes,
    }
    if s.first_event_ts is not None:
        out["firstEventTimestamp"] = s.first_event_ts
    if s.last_event_ts is not None:
        out["lastEventTimestamp"] = s.last_event_ts
    if s.last_ingestion is not None:
        out["lastIngestionTime"] = s.last_ingestion
    if s.uploads:
        out["uploadSequenceToken"] = f"{s.uploads:056d}"
    return out
