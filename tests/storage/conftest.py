"""A filesystem object store on a fresh migrated SQLite database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sagebrush.state import Database
from sagebrush.storage import FilesystemObjectStore

SMALL_PART = 1024  # multipart tests use a small minimum part size


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def store(tmp_path: Path, db: Database) -> FilesystemObjectStore:
    objects = FilesystemObjectStore(tmp_path / "objects", db, min_part_size=SMALL_PART)
    objects.create_bucket("bkt", "111111111111", "us-east-1")
    return objects


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])
