"""Helpers shared by the training-data tests: a real filesystem store on a temp dir."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

from sagebrush.state import Database
from sagebrush.storage import FilesystemObjectStore

ACCOUNT = "111111111111"


@contextmanager
def object_store(tmp_path: Path, *buckets: str) -> Iterator[FilesystemObjectStore]:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    db.migrate()
    try:
        store = FilesystemObjectStore(tmp_path / "objects", db, min_part_size=1024)
        for bucket in buckets or ("bkt",):
            store.create_bucket(bucket, ACCOUNT, "us-east-1")
        yield store
    finally:
        db.dispose()


def put(store: FilesystemObjectStore, key: str, data: bytes, bucket: str = "bkt") -> None:
    async def body() -> AsyncIterator[bytes]:
        yield data

    asyncio.run(store.put_object(bucket, key, body()))


def get(store: FilesystemObjectStore, key: str, bucket: str = "bkt") -> bytes:
    async def go() -> bytes:
        return b"".join([c async for c in store.open_object(bucket, key).stream()])

    return asyncio.run(go())


def keys(store: FilesystemObjectStore, prefix: str = "", bucket: str = "bkt") -> list[str]:
    return [o.key for o in store.list_objects(bucket, prefix=prefix).objects]


def channel(
    uri: str,
    *,
    name: str = "train",
    data_type: str = "S3Prefix",
    distribution: str = "FullyReplicated",
    **extra: object,
) -> dict[str, object]:
    """A ``Channel`` request structure as botocore shapes it."""
    source: dict[str, object] = {
        "S3DataType": data_type,
        "S3Uri": uri,
        "S3DataDistributionType": distribution,
    }
    if "AttributeNames" in extra:
        source["AttributeNames"] = extra.pop("AttributeNames")
    return {"ChannelName": name, "DataSource": {"S3DataSource": source}, **extra}
