"""SageMaker resources (training jobs now; endpoints, transforms, tuning jobs later).

One table holds every kind: the columns every kind lists, filters and sorts by (name,
status, times), and two JSON documents — ``spec``, the create request as received (what the
user asked for), and ``facts``, what the platform observed and derived since (failure
reason, artifacts, metrics, instance pids). ``version`` counts writes, so a writer that read
an older row can tell its view is stale.

Status changes are rows of ``sm_events``: the resource's history, in order (it gives
``SecondaryStatusTransitions`` and the console's timelines).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sagebrush.state.schema import Base

_ID = BigInteger().with_variant(Integer(), "sqlite")


class ResourceRow(Base):
    __tablename__ = "sm_resources"
    __table_args__ = (
        Index("uq_sm_resources_name", "account_id", "region", "kind", "name", unique=True),
        Index("ix_sm_resources_created", "account_id", "region", "kind", "created"),
        Index("ix_sm_resources_arn", "arn"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(48))
    name: Mapped[str] = mapped_column(String(128))
    arn: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(32))
    secondary_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status_message: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[float] = mapped_column(Float)
    modified: Mapped[float] = mapped_column(Float)
    ended: Mapped[float | None] = mapped_column(Float, nullable=True)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    spec: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text, default="{}")
    version: Mapped[int] = mapped_column(Integer, default=0)


class EventRow(Base):
    __tablename__ = "sm_events"
    __table_args__ = (
        Index("ix_sm_events_resource", "resource_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("sm_resources.id", ondelete="CASCADE"))
    time: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    secondary_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")


class TagRow(Base):
    __tablename__ = "sm_tags"
    __table_args__ = (Index("ix_sm_tags_arn", "arn", "key", unique=True),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    arn: Mapped[str] = mapped_column(String(256))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(256))
