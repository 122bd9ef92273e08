"""``s3://bucket/key`` URIs, split and joined the way SageMaker request fields use them."""

from __future__ import annotations


class InvalidS3Uri(ValueError):
    def __init__(self, uri: str) -> None:
        super().__init__(f'"{uri}" is not a valid S3 URI (expected s3://bucket/key)')
        self.uri = uri


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``(bucket, key)``; the key may be empty (a whole bucket)."""
    if not uri.startswith("s3://"):
        raise InvalidS3Uri(uri)
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise InvalidS3Uri(uri)
    return bucket, key


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def as_prefix(key: str) -> str:
    """A key prefix that names a "folder": empty, or ending in one '/'."""
    return f"{key.rstrip('/')}/" if key.strip("/") else ""


def directory_part(prefix: str) -> str:
    """What SageMaker strips from matched keys: the prefix up to and including its last '/'.

    ``s3://b/data/train`` matches ``data/train.csv`` and ``data/train/x.csv``, delivered as
    ``train.csv`` and ``train/x.csv``.
    """
    return prefix[: prefix.rfind("/") + 1]
