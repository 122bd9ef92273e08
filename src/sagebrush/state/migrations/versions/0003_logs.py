"""CloudWatch Logs: log groups, streams and events.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-02 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# SQLite only autoincrements an INTEGER PRIMARY KEY; elsewhere the key is a 64-bit integer.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "logs_groups",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("kms_key_id", sa.String(256), nullable=True),
        sa.Column("log_group_class", sa.String(32), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logs_groups")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_logs_groups_name", "logs_groups", ["account_id", "region", "name"], unique=True
    )
    op.create_table(
        "logs_streams",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("first_event_ts", sa.BigInteger(), nullable=True),
        sa.Column("last_event_ts", sa.BigInteger(), nullable=True),
        sa.Column("last_ingestion", sa.BigInteger(), nullable=True),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
        sa.Column("uploads", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["logs_groups.id"],
            name=op.f("fk_logs_streams_group_id_logs_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logs_streams")),
        sqlite_autoincrement=True,
    )
    op.create_index("uq_logs_streams_name", "logs_streams", ["group_id", "name"], unique=True)
    op.create_index("ix_logs_streams_last_event", "logs_streams", ["group_id", "last_event_ts"])
    op.create_table(
        "logs_events",
        sa.Column("seq", ID, primary_key=True, autoincrement=True),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("stream_id", ID, nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("ingestion_time", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["logs_groups.id"],
            name=op.f("fk_logs_events_group_id_logs_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["logs_streams.id"],
            name=op.f("fk_logs_events_stream_id_logs_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_logs_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_logs_events_stream_time", "logs_events", ["stream_id", "timestamp", "seq"])
    op.create_index("ix_logs_events_group_time", "logs_events", ["group_id", "timestamp", "seq"])


def downgrade() -> None:
    op.drop_table("logs_events")
    op.drop_table("logs_streams")
    op.drop_table("logs_groups")
