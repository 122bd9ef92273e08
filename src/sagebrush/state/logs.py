"""The log store: CloudWatch Logs' groups, streams and events, keyed by account and region.

Used by the ``logs`` provider and, in process, by anything that produces log lines (training
instances append their output here in batches: one transaction and one bulk insert per
batch). A :class:`Position` is a ``(timestamp, seq)`` pair; readers page by it (keyset
paging), which stays correct while writers append.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from sagebrush.state.db import Database
from sagebrush.state.logs_tables import (
    DAY_MS,
    AlreadyExists,
    Appended,
    FilterPage,
    GroupNotFound,
    GroupRecord,
    LogEvent,
    LogEventRow,
    LogGroupRow,
    LogStoreError,
    LogStreamRow,
    Position,
    StreamNotFound,
    StreamOrder,
    StreamRecord,
    group_id,
    group_record,
    require_group,
    require_group_retention,
    require_stream,
    stream_record,
    stream_row,
)

__all__ = [
    "DAY_MS",
    "AlreadyExists",
    "Appended",
    "FilterPage",
    "GroupNotFound",
    "GroupRecord",
    "LogEvent",
    "LogStore",
    "LogStoreError",
    "Position",
    "StreamNotFound",
    "StreamRecord",
    "stream_key",
]


# --- the store --------------------------------------------------------------------------------


class LogStore:
    """Groups, streams and events of one database, keyed by account and region."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # groups

    def create_group(
        self,
        account: str,
        region: str,
        group: str,
        *,
        kms_key_id: str | None = None,
        log_group_class: str | None = None,
        tags: str = "{}",
    ) -> None:
        """Raises :class:`AlreadyExists` when the group exists."""
        try:
            with self._db.session() as session:
                if group_id(session, account, region, group) is not None:
                    raise AlreadyExists(group)
                session.add(
                    LogGroupRow(
                        account_id=account,
                        region=region,
                        name=group,
                        created=self.now_ms(),
                        kms_key_id=kms_key_id,
                        log_group_class=log_group_class or "STANDARD",
                        tags=tags,
                    )
                )
        except IntegrityError as exc:  # created concurrently
            raise AlreadyExists(group) from exc

    def delete_group(self, account: str, region: str, group: str) -> None:
        with self._db.session() as session:
            gid = require_group(session, account, region, group)
            session.execute(delete(LogEventRow).where(LogEventRow.group_id == gid))
            session.execute(delete(LogStreamRow).where(LogStreamRow.group_id == gid))
            session.execute(delete(LogGroupRow).where(LogGroupRow.id == gid))

    def get_group(self, account: str, region: str, group: str) -> GroupRecord:
        with self._db.session() as session:
            row = session.get(LogGroupRow, require_group(session, account, region, group))
            assert row is not None
            return group_record(session, row)

    def set_retention(self, account: str, region: str, group: str, days: int | None) -> None:
        with self._db.session() as session:
            row = session.get(LogGroupRow, require_group(session, account, region, group))
            assert row is not None
            row.retention_days = days

    def describe_groups(
        self,
        account: str,
        region: str,
        *,
        prefix: str | None = None,
        contains: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[GroupRecord]:
        """Groups in name order; ``contains`` matches case-insensitively, as AWS does."""
        query = select(LogGroupRow).where(
            LogGroupRow.account_id == account, LogGroupRow.region == region
        )
        if prefix:
            query = query.where(LogGroupRow.name.startswith(prefix, autoescape=True))
        if after is not None:
            query = query.where(LogGroupRow.name > after)
        query = query.order_by(LogGroupRow.name)
        out: list[GroupRecord] = []
        with self._db.session() as session:
            for row in session.scalars(query):
                if contains and contains.lower() not in row.name.lower():
                    continue
                out.append(group_record(session, row))
                if limit is not None and len(out) >= limit:
                    break
        return out

    # streams

    def create_stream(self, account: str, region: str, group: str, stream: str) -> None:
        """Raises :class:`GroupNotFound` or :class:`AlreadyExists`."""
        try:
            with self._db.session() as session:
                gid = require_group(session, account, region, group)
                if stream_row(session, gid, stream) is not None:
                    raise AlreadyExists(stream)
                session.add(LogStreamRow(group_id=gid, name=stream, created=self.now_ms()))
        except IntegrityError as exc:
            raise AlreadyExists(stream) from exc

    def delete_stream(self, account: str, region: str, group: str, stream: str) -> None:
        with self._db.session() as session:
            row = require_stream(session, require_group(session, account, region, group), stream)
            session.execute(delete(LogEventRow).where(LogEventRow.stream_id == row.id))
            session.delete(row)

    def describe_streams(
        self,
        account: str,
        region: str,
        group: str,
        *,
        prefix: str | None = None,
        order_by: StreamOrder = "LogStreamName",
        descending: bool = False,
        after: tuple[int, str] | None = None,
        limit: int = 50,
    ) -> list[StreamRecord]:
        """Up to ``limit`` streams after the key ``after`` in the chosen order.

        The key of a stream is ``(lastEventTimestamp or -1, name)`` ordered by LastEventTime,
        ``(0, name)`` ordered by name; see :func:`stream_key`.
        """
        by_time = order_by == "LastEventTime"
        time_key = func.coalesce(LogStreamRow.last_event_ts, -1) if by_time else None
        with self._db.session() as session:
            gid = require_group(session, account, region, group)
            query = select(LogStreamRow).where(LogStreamRow.group_id == gid)
            if prefix:
                query = query.where(LogStreamRow.name.startswith(prefix, autoescape=True))
            columns: list[ColumnElement[Any]] = [LogStreamRow.name.expression]
            if time_key is not None:
                columns.insert(0, time_key)
            if after is not None:
                query = query.where(_keyset(columns, after, descending))
            query = query.order_by(*(c.desc() if descending else c.asc() for c in columns))
            return [stream_record(r) for r in session.scalars(query.limit(limit))]

    # events

    def append(
        self,
        account: str,
        region: str,
        group: str,
        stream: str,
        events: Sequence[tuple[int, str]],
        *,
        create: bool = False,
    ) -> Appended:
        """Store ``(timestamp_ms, message)`` events in one transaction, in the given order.

        ``create`` makes the group and stream when missing (in-process writers); without it
        a missing one raises :class:`GroupNotFound` / :class:`StreamNotFound`.
        """
        try:
            return self._append(account, region, group, stream, events, create=create)
        except IntegrityError:
            if not create:
                raise
            # Another writer created the same group or stream first; it exists now.
            return self._append(account, region, group, stream, events, create=create)

    def _append(
        self,
        account: str,
        region: str,
        group: str,
        stream: str,
        events: Sequence[tuple[int, str]],
        *,
        create: bool,
    ) -> Appended:
        now = self.now_ms()
        with self._db.session() as session:
            gid = group_id(session, account, region, group)
            if gid is None:
                if not create:
                    raise GroupNotFound(group)
                row = LogGroupRow(account_id=account, region=region, name=group, created=now)
                session.add(row)
                session.flush()
                gid = row.id
            srow = stream_row(session, gid, stream)
            if srow is None:
                if not create:
                    raise StreamNotFound(stream)
                srow = LogStreamRow(group_id=gid, name=stream, created=now, stored_bytes=0)
                srow.uploads = 0
                session.add(srow)
                session.flush()
            srow.uploads += 1
            if not events:
                return Appended(0, srow.uploads)
            session.execute(
                insert(LogEventRow),
                [
                    {
                        "group_id": gid,
                        "stream_id": srow.id,
                        "timestamp": ts,
                        "ingestion_time": now,
                        "message": message,
                    }
                    for ts, message in events
                ],
            )
            low = min(ts for ts, _ in events)
            high = max(ts for ts, _ in events)
            first, last = srow.first_event_ts, srow.last_event_ts
            srow.first_event_ts = low if first is None else min(first, low)
            srow.last_event_ts = high if last is None else max(last, high)
            srow.last_ingestion = now
            srow.stored_bytes += sum(len(m.encode()) for _, m in events)
            return Appended(len(events), srow.uploads)

    def read(
        self,
        account: str,
        region: str,
        group: str,
        stream: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        after: Position | None = None,
        before: Position | None = None,
        limit: int = 10_000,
        max_bytes: int = 1_048_576,
    ) -> list[LogEvent]:
        """One stream's events with ``start_time <= timestamp < end_time``, oldest first.

        Reads forward from ``after`` (exclusive; the stream's start when neither is given) or,
        given ``before``, the newest events before it (exclusive; ``Position(2**62, 0)`` for
        the stream's end). At most ``limit`` events and ``max_bytes`` (as counted by
        :attr:`LogEvent.size`; at least one event is always returned when one exists).
        """
        with self._db.session() as session:
            gid, retention = require_group_retention(session, account, region, group)
            sid = require_stream(session, gid, stream).id
        low = self._retention_floor(retention, start_time)
        backward = before is not None and after is None
        where: list[ColumnElement[bool]] = [LogEventRow.stream_id == sid]
        if low is not None:
            where.append(LogEventRow.timestamp >= low)
        if end_time is not None:
            where.append(LogEventRow.timestamp < end_time)
        rows = self._scan(where, after if not backward else before, backward, stream)
        out: list[LogEvent] = []
        size = 0
        for event in rows:
            size += event.size
            if out and (len(out) >= limit or size > max_bytes):
                break
            out.append(event)
        if backward:
            out.reverse()
        return out

    def filter(
        self,
        account: str,
        region: str,
        group: str,
        *,
        streams: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        match: Callable[[str], bool] | None = None,
        after: Position | None = None,
        limit: int = 10_000,
        max_bytes: int = 1_048_576,
        scan_budget: int = 100_000,
    ) -> FilterPage:
        """Events of the group's chosen streams, interleaved in time order, that ``match``.

        Examines at most ``scan_budget`` events; ``next`` says where to continue when the
        page filled up or the budget ran out before the end of the range.
        """
        with self._db.session() as session:
            gid, retention = require_group_retention(session, account, region, group)
            names: dict[int, str] | None = None
            if streams is not None or stream_prefix:
                q = select(LogStreamRow.id, LogStreamRow.name).where(LogStreamRow.group_id == gid)
                if streams is not None:
                    q = q.where(LogStreamRow.name.in_(list(streams)))
                if stream_prefix:
                    q = q.where(LogStreamRow.name.startswith(stream_prefix, autoescape=True))
                names = {sid: name for sid, name in session.execute(q)}
                if not names:
                    return FilterPage([], None)
        low = self._retention_floor(retention, start_time)
        where: list[ColumnElement[bool]] = [LogEventRow.group_id == gid]
        if names is not None:
            where.append(LogEventRow.stream_id.in_(list(names)))
        if low is not None:
            where.append(LogEventRow.timestamp >= low)
        if end_time is not None:
            where.append(LogEventRow.timestamp < end_time)
        out: list[LogEvent] = []
        size = 0
        last = after
        for scanned, event in enumerate(self._scan(where, after, False, None)):
            if len(out) >= limit or scanned >= scan_budget:
                return FilterPage(out, last)
            if match is None or match(event.message):
                size += event.size
                if out and size > max_bytes:
                    return FilterPage(out, last)
                out.append(event)
            last = event.position
        return FilterPage(out, None)

    def _retention_floor(self, retention: int | None, start_time: int | None) -> int | None:
        """Retention is applied as events are read: expired ones are simply not seen."""
        if retention is None:
            return start_time
        floor = self.now_ms() - retention * DAY_MS
        return floor if start_time is None else max(floor, start_time)

    def _scan(
        self,
        where: list[ColumnElement[bool]],
        start: Position | None,
        backward: bool,
        stream: str | None,
        chunk: int = 1000,
    ) -> Iterator[LogEvent]:
        """Events in ``(timestamp, seq)`` order from ``start`` (exclusive), chunk by chunk."""
        ts, seq = LogEventRow.timestamp, LogEventRow.seq
        order = (ts.desc(), seq.desc()) if backward else (ts.asc(), seq.asc())
        columns = (LogEventRow.stream_id, ts, LogEventRow.ingestion_time, seq, LogEventRow.message)
        names: dict[int, str] = {}
        while True:
            query = select(*columns).where(*where)
            if start is not None:
                if backward:
                    query = query.where(
                        ts <= start.timestamp, or_(ts < start.timestamp, seq < start.seq)
                    )
                else:
                    query = query.where(
                        ts >= start.timestamp, or_(ts > start.timestamp, seq > start.seq)
                    )
            with self._db.session() as session:
                rows = session.execute(query.order_by(*order).limit(chunk)).all()
                if stream is None:
                    missing = {r[0] for r in rows} - names.keys()
                    if missing:
                        lookup = select(LogStreamRow.id, LogStreamRow.name)
                        lookup = lookup.where(LogStreamRow.id.in_(missing))
                        names.update((i, n) for i, n in session.execute(lookup))
            for sid, t, ingested, s, message in rows:
                yield LogEvent(stream or names.get(sid, ""), t, ingested, s, message)
            if len(rows) < chunk:
                return
            start = Position(rows[-1][1], rows[-1][3])


# --- helpers ----------------------------------------------------------------------------------


def stream_key(record: StreamRecord, order_by: StreamOrder) -> tuple[int, str]:
    """The key :meth:`LogStore.describe_streams` continues after."""
    if order_by == "LastEventTime":
        return (-1 if record.last_event_ts is None else record.last_event_ts, record.name)
    return (0, record.name)


def _keyset(
    columns: list[ColumnElement[Any]],
    after: tuple[int, str],
    descending: bool,
) -> ColumnElement[bool]:
    if len(columns) == 1:
        name = columns[0]
        return name < after[1] if descending else name > after[1]
    key, name = columns
    if descending:
        return or_(key < after[0], and_(key == after[0], name < after[1]))
    return or_(key > after[0], and_(key == after[0], name > after[1]))
