"""S3 object store: buckets, objects, multipart uploads and their parts.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _system_headers() -> list[sa.Column[object]]:
    return [
        sa.Column("content_type", sa.String(256), nullable=True),
        sa.Column("content_encoding", sa.String(256), nullable=True),
        sa.Column("content_disposition", sa.Text(), nullable=True),
        sa.Column("content_language", sa.String(256), nullable=True),
        sa.Column("cache_control", sa.String(256), nullable=True),
        sa.Column("expires", sa.String(64), nullable=True),
        sa.Column("user_metadata", sa.Text(), nullable=False),
        sa.Column("extra", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "s3_buckets",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_s3_buckets")),
    )
    op.create_index(op.f("ix_s3_buckets_account_id"), "s3_buckets", ["account_id"])
    op.create_table(
        "s3_objects",
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.Float(), nullable=False),
        sa.Column("segments", sa.Text(), nullable=False),
        sa.Column("checksums", sa.Text(), nullable=False),
        sa.Column("checksum_type", sa.String(16), nullable=True),
        *_system_headers(),
        sa.ForeignKeyConstraint(
            ["bucket"],
            ["s3_buckets.name"],
            name=op.f("fk_s3_objects_bucket_s3_buckets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bucket", "key", name=op.f("pk_s3_objects")),
    )
    op.create_table(
        "s3_uploads",
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("initiated", sa.Float(), nullable=False),
        sa.Column("checksum_algorithm", sa.String(16), nullable=True),
        sa.Column("checksum_type", sa.String(16), nullable=True),
        *_system_headers(),
        sa.ForeignKeyConstraint(
            ["bucket"],
            ["s3_buckets.name"],
            name=op.f("fk_s3_uploads_bucket_s3_buckets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("upload_id", name=op.f("pk_s3_uploads")),
    )
    op.create_index("ix_s3_uploads_bucket_key", "s3_uploads", ["bucket", "key", "initiated"])
    op.create_table(
        "s3_parts",
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("blob", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.Float(), nullable=False),
        sa.Column("checksums", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["s3_uploads.upload_id"],
            name=op.f("fk_s3_parts_upload_id_s3_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("upload_id", "part_number", name=op.f("pk_s3_parts")),
    )


def downgrade() -> None:
    op.drop_table("s3_parts")
    op.drop_index("ix_s3_uploads_bucket_key", table_name="s3_uploads")
    op.drop_table("s3_uploads")
    op.drop_table("s3_objects")
    op.drop_index(op.f("ix_s3_buckets_account_id"), table_name="s3_buckets")
    op.drop_table("s3_buckets")
