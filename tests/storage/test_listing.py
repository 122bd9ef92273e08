"""Listing: byte order, prefixes, delimiters and markers over thousands of keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from tests.storage.conftest import chunks

from sagebrush.state import Database
from sagebrush.storage import FilesystemObjectStore
from sagebrush.storage import errors as e
from sagebrush.storage._listing import successor


def fill(store: FilesystemObjectStore, keys: list[str]) -> None:
    async def go() -> None:
        for key in keys:
            await store.put_object("bkt", key, chunks(b"."))

    asyncio.run(go())


def walk(store: FilesystemObjectStore, page: int, **kwargs: str) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    prefixes: list[str] = []
    after: str | None = None
    while True:
        listing = store.list_objects("bkt", after=after, max_keys=page, **kwargs)
        keys += [o.key for o in listing.objects]
        prefixes += listing.common_prefixes
        assert len(listing.objects) + len(listing.common_prefixes) <= page
        if not listing.is_truncated:
            assert listing.next_marker is None
            return keys, prefixes
        after = listing.next_marker


KEYS = [f"data/{d:02d}/part-{n:04d}" for d in range(25) for n in range(100)]
KEYS += ["data/top.txt", "readme", "z/ä", "z/a", "z/Z", "z/~"]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilesystemObjectStore]:
    root = tmp_path_factory.mktemp("listing")
    db = Database(f"sqlite:///{root / 'meta.db'}")
    db.migrate()
    store = FilesystemObjectStore(root / "objects", db)
    store.create_bucket("bkt", "111111111111", "us-east-1")
    fill(store, KEYS)
    yield store
    db.dispose()


@pytest.fixture
def many() -> list[str]:
    return sorted(KEYS, key=lambda k: k.encode())


def test_flat_listing_pages_in_byte_order(big: FilesystemObjectStore, many: list[str]) -> None:
    store = big
    assert len(many) > 2500
    keys, prefixes = walk(store, 1000)
    assert keys == many and prefixes == []
    keys, _ = walk(store, 7, prefix="data/03/")
    assert keys == [k for k in many if k.startswith("data/03/")]
    assert keys[:2] == ["data/03/part-0000", "data/03/part-0001"]
    # Byte order puts "z/Z" < "z/a" < "z/~" < "z/ä" (0xC3 > 0x7E).
    assert walk(store, 1000, prefix="z/")[0] == ["z/Z", "z/a", "z/~", "z/ä"]


def test_delimiter_rolls_up_and_pages(big: FilesystemObjectStore) -> None:
    store = big
    keys, prefixes = walk(store, 1000, delimiter="/")
    assert keys == ["readme"] and prefixes == ["data/", "z/"]
    for page in (1, 2, 3, 1000):
        keys, prefixes = walk(store, page, prefix="data/", delimiter="/")
        assert keys == ["data/top.txt"]
        assert prefixes == [f"data/{d:02d}/" for d in range(25)]


def test_after_and_truncation(big: FilesystemObjectStore) -> None:
    store = big
    listing = store.list_objects("bkt", after="data/24/part-0098", max_keys=2)
    assert [o.key for o in listing.objects] == ["data/24/part-0099", "data/top.txt"]
    assert listing.is_truncated and listing.next_marker == "data/top.txt"
    # An "after" inside a rolled-up prefix skips that prefix.
    listing = store.list_objects("bkt", delimiter="/", after="data/05/x", max_keys=10)
    assert listing.common_prefixes == ("z/",) and [o.key for o in listing.objects] == ["readme"]
    listing = store.list_objects("bkt", prefix="readme", max_keys=1)
    assert not listing.is_truncated and listing.next_marker is None
    assert store.list_objects("bkt", max_keys=0).objects == ()
    assert store.list_objects("bkt", prefix="nothing").objects == ()
    with pytest.raises(e.NoSuchBucket):
        store.list_objects("missing")


def test_multichar_delimiter(store: FilesystemObjectStore) -> None:
    fill(store, ["a--b--c", "a--d", "a-e", "b"])
    listing = store.list_objects("bkt", delimiter="--")
    assert listing.common_prefixes == ("a--",)
    assert [o.key for o in listing.objects] == ["a-e", "b"]


def test_successor() -> None:
    assert successor(b"ab") == b"ac"
    assert successor(b"a\xff") == b"b"
    assert successor(b"\xff\xff") is None
