"""SageMaker resources, their status events and tags.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sm_resources",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("secondary_status", sa.String(32), nullable=True),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("modified", sa.Float(), nullable=False),
        sa.Column("ended", sa.Float(), nullable=True),
        sa.Column("stop_requested", sa.Boolean(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_sm_resources_name",
        "sm_resources",
        ["account_id", "region", "kind", "name"],
        unique=True,
    )
    op.create_index(
        "ix_sm_resources_created", "sm_resources", ["account_id", "region", "kind", "created"]
    )
    op.create_index("ix_sm_resources_arn", "sm_resources", ["arn"])
    op.create_table(
        "sm_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "resource_id",
            ID,
            sa.ForeignKey(
                "sm_resources.id", ondelete="CASCADE", name="fk_sm_events_resource_id_sm_resources"
            ),
            nullable=False,
        ),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("secondary_status", sa.String(32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sm_events_resource", "sm_events", ["resource_id", "id"])
    op.create_table(
        "sm_tags",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_index("ix_sm_tags_arn", "sm_tags", ["arn", "key"], unique=True)


def downgrade() -> None:
    op.drop_table("sm_tags")
    op.drop_table("sm_events")
    op.drop_table("sm_resources")
