"""All tables, on one metadata so Alembic sees every one of them.

Every resource row carries ``account_id`` and ``region``: resources are keyed by both.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- S3 object store (sagebrush.storage) ------------------------------------------------------
#
# Object keys are stored as their UTF-8 bytes (BLOB / bytea) so that the primary-key index
# orders them exactly as S3 lists them: by byte value. Bytes live in blob files named by
# random ids; ``segments`` lists them in order (one for a PUT, one per part after a multipart
# upload, which is completed without copying).


class S3Bucket(Base):
    __tablename__ = "s3_buckets"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), index=True)
    region: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[float] = mapped_column(Float)


class S3Object(Base):
    __tablename__ = "s3_objects"

    bucket: Mapped[str] = mapped_column(
        ForeignKey("s3_buckets.name", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(64))
    last_modified: Mapped[float] = mapped_column(Float)
    # JSON: [[blob_id, size], ...] in read order.
    segments: Mapped[str] = mapped_column(Text)
    # JSON: {"CRC32": "<base64>", ...}; a COMPOSITE checksum ends in "-<parts>".
    checksums: Mapped[str] = mapped_column(Text, default="{}")
    checksum_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(256), nullable=True)
    content_encoding: Mapped[str | None] = mapped_column(String(256), nullable=True)
    content_disposition: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_language: Mapped[str | None] = mapped_column(String(256), nullable=True)
    cache_control: Mapped[str | None] = mapped_column(String(256), nullable=True)
    expires: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # JSON: user metadata ({"name": "value"}) and opaque attributes kept for the provider.
    user_metadata: Mapped[str] = mapped_column(Text, default="{}")
    extra: Mapped[str] = mapped_column(Text, default="{}")


class S3Upload(Base):
    __tablename__ = "s3_uploads"
    __table_args__ = (Index("ix_s3_uploads_bucket_key", "bucket", "key", "initiated"),)

    upload_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(ForeignKey("s3_buckets.name", ondelete="CASCADE"))
    key: Mapped[bytes] = mapped_column(LargeBinary)
    initiated: Mapped[float] = mapped_column(Float)
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checksum_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(256), nullable=True)
    content_encoding: Mapped[str | None] = mapped_column(String(256), nullable=True)
    content_disposition: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_language: Mapped[str | None] = mapped_column(String(256), nullable=True)
    cache_control: Mapped[str | None] = mapped_column(String(256), nullable=True)
    expires: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_metadata: Mapped[str] = mapped_column(Text, default="{}")
    extra: Mapped[str] = mapped_column(Text, default="{}")


class S3Part(Base):
    __tablename__ = "s3_parts"

    upload_id: Mapped[str] = mapped_column(
        ForeignKey("s3_uploads.upload_id", ondelete="CASCADE"), primary_key=True
    )
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    blob: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(64))
    last_modified: Mapped[float] = mapped_column(Float)
    checksums: Mapped[str] = mapped_column(Text, default="{}")
