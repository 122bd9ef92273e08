"""CloudWatch metrics: series and datapoints.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cw_metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("series_key", sa.String(64), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("dimensions", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("last_put", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cw_metrics")),
        sa.UniqueConstraint(
            "account_id", "region", "series_key", name=op.f("uq_cw_metrics_account_id")
        ),
    )
    op.create_table(
        "cw_datapoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("sample_count", sa.Float(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["cw_metrics.id"],
            name=op.f("fk_cw_datapoints_metric_id_cw_metrics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cw_datapoints")),
    )
    op.create_index("ix_cw_datapoints_metric_ts", "cw_datapoints", ["metric_id", "ts"])


def downgrade() -> None:
    op.drop_index("ix_cw_datapoints_metric_ts", table_name="cw_datapoints")
    op.drop_table("cw_datapoints")
    op.drop_table("cw_metrics")
