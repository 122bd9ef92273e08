"""CloudWatch Logs' tables, the records read from them, and the row-level helpers.

The store over them is :mod:`sagebrush.state.logs`. Times are epoch milliseconds, as on the
wire. Every event gets a sequence id from one ever-increasing counter (the table's
autoincrement key, never reused), so ``(timestamp, seq)`` orders a stream: events appended
later with an earlier timestamp still land in time order, and events that share a timestamp
keep their arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sagebrush.state.schema import Base

_ID = BigInteger().with_variant(Integer(), "sqlite")
DAY_MS = 86_400_000


class LogGroupRow(Base):
    __tablename__ = "logs_groups"
    __table_args__ = (
        Index("uq_logs_groups_name", "account_id", "region", "name", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(512))
    created: Mapped[int] = mapped_column(BigInteger)
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kms_key_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    log_group_class: Mapped[str] = mapped_column(String(32), default="STANDARD")
    tags: Mapped[str] = mapped_column(Text, default="{}")  # JSON object


class LogStreamRow(Base):
    __tablename__ = "logs_streams"
    __table_args__ = (
        Index("uq_logs_streams_name", "group_id", "name", unique=True),
        Index("ix_logs_streams_last_event", "group_id", "last_event_ts"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("logs_groups.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    created: Mapped[int] = mapped_column(BigInteger)
    first_event_ts: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_event_ts: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_ingestion: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    uploads: Mapped[int] = mapped_column(BigInteger, default=0)  # PutLogEvents batches so far


class LogEventRow(Base):
    __tablename__ = "logs_events"
    __table_args__ = (
        Index("ix_logs_events_stream_time", "stream_id", "timestamp", "seq"),
        Index("ix_logs_events_group_time", "group_id", "timestamp", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    # The group is denormalized onto the event so a whole group filters by time on one index.
    group_id: Mapped[int] = mapped_column(ForeignKey("logs_groups.id", ondelete="CASCADE"))
    stream_id: Mapped[int] = mapped_column(ForeignKey("logs_streams.id", ondelete="CASCADE"))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    ingestion_time: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text)


# --- records and errors ---


class LogStoreError(Exception):
    """A domain error; the ``logs`` provider turns each kind into its AWS error."""


class GroupNotFound(LogStoreError):
    pass


class StreamNotFound(LogStoreError):
    pass


class AlreadyExists(LogStoreError):
    pass


@dataclass(frozen=True, order=True)
class Position:
    """A place in ``(timestamp, seq)`` order: a reader continues strictly after or before it."""

    timestamp: int
    seq: int


@dataclass(frozen=True)
class GroupRecord:
    account_id: str
    region: str
    name: str
    created: int
    retention_days: int | None
    kms_key_id: str | None
    log_group_class: str
    stored_bytes: int


@dataclass(frozen=True)
class StreamRecord:
    name: str
    created: int
    first_event_ts: int | None
    last_event_ts: int | None
    last_ingestion: int | None
    stored_bytes: int
    uploads: int


@dataclass(frozen=True)
class LogEvent:
    stream: str
    timestamp: int
    ingestion_time: int
    seq: int
    message: str

    @property
    def position(self) -> Position:
        return Position(self.timestamp, self.seq)

    @property
    def size(self) -> int:
        """The event's size as CloudWatch Logs counts it: UTF-8 message plus 26 bytes."""
        return len(self.message.encode()) + 26


@dataclass(frozen=True)
class Appended:
    count: int
    uploads: int  # the stream's batch counter after this one (a sequence token's source)


@dataclass(frozen=True)
class FilterPage:
    events: list[LogEvent]
    next: Position | None  # where to continue; None when the range is exhausted


StreamOrder = str  # "LogStreamName" or "LastEventTime", as the wire names them


def group_id(session: Session, account: str, region: str, group: str) -> int | None:
    return session.scalar(
        select(LogGroupRow.id).where(
            LogGroupRow.account_id == account,
            LogGroupRow.region == region,
            LogGroupRow.name == group,
        )
    )


def require_group(session: Session, account: str, region: str, group: str) -> int:
    gid = group_id(session, account, region, group)
    if gid is None:
        raise GroupNotFound(group)
    return gid


def require_group_retention(
    session: Session, account: str, region: str, group: str
) -> tuple[int, int | None]:
    row = session.execute(
        select(LogGroupRow.id, LogGroupRow.retention_days).where(
            LogGroupRow.account_id == account,
            LogGroupRow.region == region,
            LogGroupRow.name == group,
        )
    ).first()
    if row is None:
        raise GroupNotFound(group)
    return row[0], row[1]


def stream_row(session: Session, gid: int, stream: str) -> LogStreamRow | None:
    return session.scalar(
        select(LogStreamRow).where(LogStreamRow.group_id == gid, LogStreamRow.name == stream)
    )


def require_stream(session: Session, gid: int, stream: str) -> LogStreamRow:
    row = stream_row(session, gid, stream)
    if row is None:
        raise StreamNotFound(stream)
    return row


def group_record(session: Session, row: LogGroupRow) -> GroupRecord:
    stored = session.scalar(
        select(func.coalesce(func.sum(LogStreamRow.stored_bytes), 0)).where(
            LogStreamRow.group_id == row.id
        )
    )
    return GroupRecord(
        account_id=row.account_id,
        region=row.region,
        name=row.name,
        created=row.created,
        retention_days=row.retention_days,
        kms_key_id=row.kms_key_id,
        log_group_class=row.log_group_class,
        stored_bytes=int(stored or 0),
    )


def stream_record(row: LogStreamRow) -> StreamRecord:
    return StreamRecord(
        name=row.name,
        created=row.created,
        first_event_ts=row.first_event_ts,
        last_event_ts=row.last_event_ts,
        last_ingestion=row.last_ingestion,
        stored_bytes=row.stored_bytes,
        uploads=row.uploads,
    )
