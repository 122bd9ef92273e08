"""PutLogEvents, GetLogEvents and FilterLogEvents: batch rules, reading, paging."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from sagebrush.services.logs._errors import invalid
from sagebrush.services.logs._pattern import compile_pattern
from sagebrush.services.logs._tokens import event_token, parse_event_token, position_digits
from sagebrush.state.logs import DAY_MS, LogEvent, LogStore, Position

MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_SPAN_MS = DAY_MS
TOO_NEW_MS = 2 * 3_600_000  # events more than 2 hours ahead are rejected
TOO_OLD_MS = 14 * DAY_MS  # events more than 14 days old are rejected
STREAM_END = Position(2**62, 0)


def put(
    store: LogStore,
    where: tuple[str, str, str, str],
    log_events: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """Check the batch as AWS does, store the acceptable part, report the rejected ends."""
    account, region, group, stream = where
    events = [(int(e["timestamp"]), str(e["message"])) for e in log_events]
    _check_batch(events)
    now = store.now_ms()
    retention = store.get_group(account, region, group).retention_days
    # The batch is chronological, so rejected events are a prefix (old) and a suffix (new).
    too_old = _last_before(events, now - TOO_OLD_MS)
    expired = _last_before(events, now - retention * DAY_MS) if retention else -1
    too_new = next((i for i, (ts, _) in enumerate(events) if ts > now + TOO_NEW_MS), None)
    accepted = events[max(too_old, expired) + 1 : too_new]
    appended = store.append(account, region, group, stream, accepted)
    result: dict[str, Any] = {"nextSequenceToken": f"{appended.uploads:056d}"}
    rejected: dict[str, int] = {}
    if too_new is not None:
        rejected["tooNewLogEventStartIndex"] = too_new
    if too_old >= 0:
        rejected["tooOldLogEventEndIndex"] = too_old
    if expired >= 0:
        rejected["expiredLogEventEndIndex"] = expired
    if rejected:
        result["rejectedLogEventsInfo"] = rejected
    return result


def get(
    store: LogStore,
    where: tuple[str, str, str, str],
    *,
    start_time: int | None,
    end_time: int | None,
    next_token: str | None,
    limit: int | None,
    start_from_head: bool | None,
) -> dict[str, Any]:
    """One page of a stream, with AWS's forward and backward tokens.

    A token is a place: ``f/P`` reads on after P, ``b/P`` back before it. A page with no
    events keeps the place, so the forward token at the end of a stream comes back as it
    was sent (the sagemaker SDK reads until such an empty page).
    """
    account, region, group, stream = where
    place: Position | None = None
    if next_token:
        direction, place = parse_event_token(next_token)
    else:
        direction = "f" if start_from_head else "b"
    start = Position(start_time or 0, 0)
    read_limit = limit or 10_000
    if direction == "f":
        events = store.read(
            account, region, group, stream, start_time=start_time, end_time=end_time,
            after=place, limit=read_limit,
        )  # fmt: skip
        here = place or start
        forward = events[-1].position if events else here
        backward = events[0].position if events else Position(here.timestamp, here.seq + 1)
    else:
        events = store.read(
            account, region, group, stream, start_time=start_time, end_time=end_time,
            before=place or STREAM_END, limit=read_limit,
        )  # fmt: skip
        forward = events[-1].position if events else _just_before(place, start)
        backward = events[0].position if events else (place or start)
    return {
        "events": [
            {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
            for e in events
        ],
        "nextForwardToken": event_token("f", forward),
        "nextBackwardToken": event_token("b", backward),
    }


def filter_group(
    store: LogStore,
    account: str,
    region: str,
    group: str,
    *,
    stream_names: Sequence[str] | None,
    stream_prefix: str | None,
    start_time: int | None,
    end_time: int | None,
    filter_pattern: str | None,
    next_token: str | None,
    limit: int | None,
) -> dict[str, Any]:
    if stream_names and stream_prefix:
        raise invalid("You cannot specify both logStreamNames and logStreamNamePrefix.")
    after = parse_event_token(next_token)[1] if next_token else None
    page = store.filter(
        account,
        region,
        group,
        streams=stream_names or None,
        stream_prefix=stream_prefix,
        start_time=start_time,
        end_time=end_time,
        match=compile_pattern(filter_pattern),
        after=after,
        limit=limit or 10_000,
    )
    result: dict[str, Any] = {
        "events": [_filtered(e) for e in page.events],
        "searchedLogStreams": [],  # AWS stopped filling this in 2020
    }
    if page.next is not None:
        result["nextToken"] = event_token("f", page.next)
    return result


def _check_batch(events: list[tuple[int, str]]) -> None:
    if any(b[0] < a[0] for a, b in pairwise(events)):
        raise invalid("Log events in a single PutLogEvents request must be in chronological order.")
    size = sum(len(m.encode()) + 26 for _, m in events)
    if size > MAX_BATCH_BYTES:
        raise invalid(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
    if events and events[-1][0] - events[0][0] > MAX_BATCH_SPAN_MS:
        raise invalid(
            "The batch of log events in a single PutLogEvents request cannot span more than "
            "24 hours."
        )


def _last_before(events: list[tuple[int, str]], cutoff: int) -> int:
    """Index of the last event older than ``cutoff`` (-1 when none is)."""
    last = -1
    for i, (ts, _) in enumerate(events):
        if ts >= cutoff:
            break
        last = i
    return last


def _just_before(place: Position | None, start: Position) -> Position:
    """A forward place that reads ``place`` itself next (the start when there is none)."""
    if place is None or place.seq == 0:
        return start if place is None else Position(max(place.timestamp - 1, 0), 2**62)
    return Position(place.timestamp, place.seq - 1)


def _filtered(event: LogEvent) -> dict[str, Any]:
    return {
        "logStreamName": event.stream,
        "timestamp": event.timestamp,
        "message": event.message,
        "ingestionTime": event.ingestion_time,
        "eventId": position_digits(event.position),
    }
