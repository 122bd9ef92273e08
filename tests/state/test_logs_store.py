"""The log store over a migrated SQLite database: append, read, filter, streams, retention."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebrush.state.db import Database
from sagebrush.state.logs import (
    DAY_MS,
    AlreadyExists,
    GroupNotFound,
    LogStore,
    Position,
    StreamNotFound,
    stream_key,
)

A, R, G = "123456789012", "us-east-1", "/aws/sagemaker/TrainingJobs"
NOW = 1_700_000_000.0
NOW_MS = int(NOW * 1000)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[LogStore]:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.migrate()
    yield LogStore(db, clock)
    db.dispose()


def test_append_creates_group_and_stream_on_demand(store: LogStore) -> None:
    done = store.append(
        A, R, G, "job/algo-1", [(NOW_MS, "hello"), (NOW_MS + 1, "world")], create=True
    )
    assert done.count == 2 and done.uploads == 1
    assert store.get_group(A, R, G).stored_bytes == 10
    (stream,) = store.describe_streams(A, R, G)
    assert (stream.name, stream.first_event_ts, stream.last_event_ts) == (
        "job/algo-1",
        NOW_MS,
        NOW_MS + 1,
    )
    assert stream.last_ingestion == NOW_MS and stream.stored_bytes == 10


def test_append_without_create_needs_group_and_stream(store: LogStore) -> None:
    with pytest.raises(GroupNotFound):
        store.append(A, R, G, "s", [(1, "x")])
    store.create_group(A, R, G)
    with pytest.raises(StreamNotFound):
        store.append(A, R, G, "s", [(1, "x")])
    with pytest.raises(AlreadyExists):
        store.create_group(A, R, G)
    store.create_stream(A, R, G, "s")
    with pytest.raises(AlreadyExists):
        store.create_stream(A, R, G, "s")
    assert store.append(A, R, G, "s", [(1, "x")]).count == 1


def test_groups_are_keyed_by_account_and_region(store: LogStore) -> None:
    store.append(A, R, G, "s", [(1, "east")], create=True)
    store.append(A, "eu-west-1", G, "s", [(1, "west")], create=True)
    store.append("000000000000", R, G, "s", [(1, "other")], create=True)
    assert [e.message for e in store.read(A, R, G, "s")] == ["east"]
    assert [e.message for e in store.read(A, "eu-west-1", G, "s")] == ["west"]
    assert [g.name for g in store.describe_groups("999999999999", R)] == []


def test_read_orders_by_timestamp_then_arrival(store: LogStore) -> None:
    store.append(A, R, G, "s", [(10, "a"), (20, "b"), (20, "c")], create=True)
    store.append(A, R, G, "s", [(15, "late"), (20, "d")])
    assert [e.message for e in store.read(A, R, G, "s")] == ["a", "late", "b", "c", "d"]
    seqs = [e.seq for e in store.read(A, R, G, "s")]
    assert len(set(seqs)) == 5


def test_read_pages_forward_and_backward_by_position(store: LogStore) -> None:
    store.append(A, R, G, "s", [(i, f"m{i}") for i in range(25)], create=True)
    page = store.read(A, R, G, "s", limit=10)
    assert [e.timestamp for e in page] == list(range(10))
    page2 = store.read(A, R, G, "s", after=page[-1].position, limit=10)
    assert [e.timestamp for e in page2] == list(range(10, 20))
    tail = store.read(A, R, G, "s", before=Position(2**62, 0), limit=10)
    assert [e.timestamp for e in tail] == list(range(15, 25))
    back = store.read(A, R, G, "s", before=tail[0].position, limit=10)
    assert [e.timestamp for e in back] == list(range(5, 15))
    assert store.read(A, R, G, "s", after=tail[-1].position) == []


def test_read_time_window_and_byte_cap(store: LogStore) -> None:
    store.append(A, R, G, "s", [(i, "x" * 1000) for i in range(100)], create=True)
    window = store.read(A, R, G, "s", start_time=10, end_time=20)
    assert [e.timestamp for e in window] == list(range(10, 20))
    capped = store.read(A, R, G, "s", max_bytes=10_260)
    assert len(capped) == 10  # 1026 bytes each, as CloudWatch counts them


def test_read_crosses_scan_chunks(store: LogStore) -> None:
    store.append(A, R, G, "s", [(i // 3, str(i)) for i in range(2500)], create=True)
    assert [e.message for e in store.read(A, R, G, "s")] == [str(i) for i in range(2500)]


def test_filter_interleaves_streams_and_pages(store: LogStore) -> None:
    store.append(A, R, G, "job/algo-1", [(1, "a1 ERROR"), (3, "a3"), (5, "a5 ERROR")], create=True)
    store.append(A, R, G, "job/algo-2", [(2, "b2 ERROR"), (4, "b4")], create=True)
    store.append(A, R, G, "other", [(0, "o0 ERROR")], create=True)
    page = store.filter(A, R, G, stream_prefix="job/")
    assert [e.message for e in page.events] == ["a1 ERROR", "b2 ERROR", "a3", "b4", "a5 ERROR"]
    assert page.next is None
    assert [e.stream for e in page.events][:2] == ["job/algo-1", "job/algo-2"]
    errors = store.filter(A, R, G, match=lambda m: "ERROR" in m, limit=2)
    assert [e.message for e in errors.events] == ["o0 ERROR", "a1 ERROR"]
    assert errors.next is not None
    rest = store.filter(A, R, G, match=lambda m: "ERROR" in m, after=errors.next)
    assert [e.message for e in rest.events] == ["b2 ERROR", "a5 ERROR"]
    assert rest.next is None
    only = store.filter(A, R, G, streams=["other", "missing"])
    assert [e.message for e in only.events] == ["o0 ERROR"]
    assert store.filter(A, R, G, streams=["missing"]).events == []


def test_filter_scan_budget_returns_a_continuation(store: LogStore) -> None:
    store.append(A, R, G, "s", [(i, "noise") for i in range(50)] + [(50, "needle")], create=True)
    page = store.filter(A, R, G, match=lambda m: m == "needle", scan_budget=20)
    assert page.events == [] and page.next is not None
    found = []
    while page.next is not None:
        page = store.filter(A, R, G, match=lambda m: m == "needle", after=page.next, scan_budget=20)
        found += page.events
    assert [e.message for e in found] == ["needle"]


def test_describe_streams_orders_and_continues(store: LogStore) -> None:
    for name, ts in [("b", 30), ("a", 10), ("c", 20)]:
        store.append(A, R, G, name, [(ts, name)], create=True)
    store.create_stream(A, R, G, "empty")
    assert [s.name for s in store.describe_streams(A, R, G)] == ["a", "b", "c", "empty"]
    by_time = store.describe_streams(A, R, G, order_by="LastEventTime")
    assert [s.name for s in by_time] == ["empty", "a", "c", "b"]
    newest = store.describe_streams(A, R, G, order_by="LastEventTime", descending=True, limit=2)
    assert [s.name for s in newest] == ["b", "c"]
    after = stream_key(newest[-1], "LastEventTime")
    more = store.describe_streams(A, R, G, order_by="LastEventTime", descending=True, after=after)
    assert [s.name for s in more] == ["a", "empty"]
    assert [s.name for s in store.describe_streams(A, R, G, prefix="e")] == ["empty"]
    assert [s.name for s in store.describe_streams(A, R, G, after=(0, "b"))] == ["c", "empty"]


def test_delete_stream_and_group(store: LogStore) -> None:
    store.append(A, R, G, "s1", [(1, "x")], create=True)
    store.append(A, R, G, "s2", [(1, "y")], create=True)
    store.delete_stream(A, R, G, "s1")
    with pytest.raises(StreamNotFound):
        store.read(A, R, G, "s1")
    assert [e.message for e in store.filter(A, R, G).events] == ["y"]
    store.delete_group(A, R, G)
    with pytest.raises(GroupNotFound):
        store.describe_streams(A, R, G)
    store.append(A, R, G, "s2", [(2, "fresh")], create=True)
    assert [e.message for e in store.read(A, R, G, "s2")] == ["fresh"]


def test_retention_is_applied_at_read_time(store: LogStore, clock: Clock) -> None:
    store.append(A, R, G, "s", [(NOW_MS - 3 * DAY_MS, "old"), (NOW_MS, "new")], create=True)
    store.set_retention(A, R, G, 1)
    assert store.get_group(A, R, G).retention_days == 1
    assert [e.message for e in store.read(A, R, G, "s")] == ["new"]
    assert [e.message for e in store.filter(A, R, G).events] == ["new"]
    clock.now += 2 * 86_400
    assert store.read(A, R, G, "s") == []
    store.set_retention(A, R, G, None)
    assert [e.message for e in store.read(A, R, G, "s")] == ["old", "new"]


def test_describe_groups_prefix_pattern_and_paging(store: LogStore) -> None:
    for name in ["/aws/sagemaker/TrainingJobs", "/aws/sagemaker/Endpoints/x", "app", "App2"]:
        store.create_group(A, R, name)
    assert [g.name for g in store.describe_groups(A, R, prefix="/aws/")] == [
        "/aws/sagemaker/Endpoints/x",
        "/aws/sagemaker/TrainingJobs",
    ]
    assert [g.name for g in store.describe_groups(A, R, contains="APP")] == ["App2", "app"]
    assert [
        g.name for g in store.describe_groups(A, R, limit=2, after="/aws/sagemaker/TrainingJobs")
    ] == [
        "App2",
        "app",
    ]


def test_large_batch_is_one_fast_transaction(store: LogStore) -> None:
    import time

    batch = [(NOW_MS + i, f"line {i} " + "x" * 80) for i in range(10_000)]
    start = time.perf_counter()
    store.append(A, R, G, "s", batch, create=True)
    elapsed = time.perf_counter() - start
    assert len(store.read(A, R, G, "s", max_bytes=2**30)) == 10_000
    assert elapsed < 5, elapsed
