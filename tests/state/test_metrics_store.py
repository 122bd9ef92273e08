"""The metric store: aggregation against hand-computed answers, alignment, percentiles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sagebrush.state.db import Database
from sagebrush.state.metrics import (
    Datapoint,
    DatapointRow,
    MetricRow,
    MetricStore,
    StatisticSet,
    StatisticsQuery,
    align_start,
    bucket_count,
    parse_percentile,
)
from sagebrush.state.schema import Base

ACCOUNT, REGION, NS = "123456789012", "us-east-1", "Test/App"
T0 = 1_700_000_040  # a whole minute (12:14:00 UTC on 2023-11-14)
DIMS = (("Host", "a"), ("Env", "prod"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'metrics.db'}")
    tables = [MetricRow.__table__, DatapointRow.__table__]
    Base.metadata.create_all(database.engine, tables=tables)
    yield database
    database.dispose()


@pytest.fixture
def store(db: Database) -> MetricStore:
    return MetricStore(db)


def put(store: MetricStore, *points: Datapoint, received_at: float = T0) -> None:
    store.put(ACCOUNT, REGION, NS, points, received_at=received_at)


def query(**kwargs: object) -> StatisticsQuery:
    fields: dict[str, object] = {
        "namespace": NS,
        "metric_name": "m",
        "dimensions": DIMS,
        "start": T0,
        "end": T0 + 600,
        "period": 60,
    }
    fields.update(kwargs)
    return StatisticsQuery(**fields)


def stats(store: MetricStore, **kwargs: object) -> list[tuple[object, ...]]:
    return [
        (a.timestamp - T0, a.unit, a.sample_count, a.sum, a.minimum, a.maximum, a.average)
        for a in store.statistics(ACCOUNT, REGION, query(**kwargs))
    ]


def point(ts: float, value: float, **kwargs: object) -> Datapoint:
    return Datapoint("m", ts, value=value, dimensions=DIMS, **kwargs)


def test_values_aggregate_per_period(store: MetricStore) -> None:
    put(store, *(point(T0 + s, v) for s, v in [(0, 1), (10, 2), (59, 3), (30, 4)]))
    put(store, point(T0 + 60, 10), point(T0 + 185, -2))
    assert stats(store) == [
        (0, "None", 4.0, 10.0, 1.0, 4.0, 2.5),
        (60, "None", 1.0, 10.0, 10.0, 10.0, 10.0),
        (180, "None", 1.0, -2.0, -2.0, -2.0, -2.0),
    ]
    assert stats(store, period=120) == [
        (0, "None", 5.0, 20.0, 1.0, 10.0, 4.0),
        (120, "None", 1.0, -2.0, -2.0, -2.0, -2.0),
    ]


def test_start_is_inclusive_end_exclusive(store: MetricStore) -> None:
    put(store, point(T0 - 1, 100), point(T0, 1), point(T0 + 119, 2), point(T0 + 120, 3))
    assert stats(store, end=T0 + 120, period=120) == [(0, "None", 2.0, 3.0, 1.0, 2.0, 1.5)]


def test_values_with_counts_and_statistic_sets(store: MetricStore) -> None:
    put(
        store,
        Datapoint("m", T0, values=(1.0, 5.0), counts=(3.0, 1.0), dimensions=DIMS),
        Datapoint("m", T0 + 1, values=(2.0,), dimensions=DIMS),  # no counts: 1 each
        Datapoint("m", T0 + 2, statistics=StatisticSet(10, 70, 0.5, 20), dimensions=DIMS),
    )
    # count 3+1+1+10, sum 3+5+2+70, min 0.5, max 20
    assert stats(store) == [(0, "None", 15.0, 80.0, 0.5, 20.0, 80 / 15)]


def test_dimensions_match_exactly_in_any_order(store: MetricStore) -> None:
    put(store, Datapoint("m", T0, value=1, dimensions=(("Env", "prod"), ("Host", "a"))))
    put(store, Datapoint("m", T0, value=100, dimensions=(("Host", "a"),)))
    assert stats(store) == [(0, "None", 1.0, 1.0, 1.0, 1.0, 1.0)]
    assert stats(store, dimensions=(("Host", "a"),))[0][3] == 100.0
    assert stats(store, dimensions=()) == []


def test_units_are_aggregated_apart_and_filtered(store: MetricStore) -> None:
    put(store, point(T0, 1, unit="Seconds"), point(T0 + 1, 2, unit="Seconds"))
    put(store, point(T0 + 2, 500, unit="Milliseconds"))
    assert stats(store) == [
        (0, "Milliseconds", 1.0, 500.0, 500.0, 500.0, 500.0),
        (0, "Seconds", 2.0, 3.0, 1.0, 2.0, 1.5),
    ]
    assert [s[1] for s in stats(store, unit="Seconds")] == ["Seconds"]
    assert stats(store, unit="Count") == []


def test_accounts_and_regions_are_separate(store: MetricStore) -> None:
    put(store, point(T0, 1))
    store.put(ACCOUNT, "eu-west-1", NS, [point(T0, 7)], received_at=T0)
    store.put("210987654321", REGION, NS, [point(T0, 9)], received_at=T0)
    assert stats(store)[0][3] == 1.0
    other = store.statistics("210987654321", REGION, query())
    assert [a.sum for a in other] == [9.0]


def test_align_start_rounds_like_cloudwatch() -> None:
    now = 1_700_000_000.0
    minute = T0 - 3600  # an hour before T0, on the minute
    assert align_start(minute + 34.5, 60, now) == minute
    assert align_start(minute + 34.5, 300, now) == minute
    assert align_start(1_000_000_054.2, 10, 2e9) == 1_000_000_050
    assert align_start(1_000_000_054.2, 5, 2e9) == 1_000_000_050
    assert align_start(1_000_000_054.2, 1, 2e9) == 1_000_000_054
    five_minutes = 1_698_271_800  # 20 days before ``now``, on a 5-minute boundary
    assert align_start(five_minutes + 299, 60, now) == five_minutes
    hour = 1_691_359_200  # 100 days before ``now``, on the hour
    assert align_start(hour + 3599, 300, now) == hour
    assert bucket_count(0, 3600, 60) == 60
    assert bucket_count(0, 3601, 60) == 61


def test_buckets_follow_the_aligned_start_not_the_epoch(store: MetricStore) -> None:
    start = T0 + 180  # minute-aligned but not on a 5-minute boundary of the epoch
    assert start % 300 != 0
    put(store, point(start + 60, 1), point(start + 299, 2), point(start + 300, 3))
    result = stats(store, start=start, end=start + 900, period=300)
    assert [(r[0], r[2], r[3]) for r in result] == [(180, 2.0, 3.0), (480, 1.0, 3.0)]


def test_standard_resolution_lands_on_the_minute(store: MetricStore) -> None:
    put(store, point(T0 + 45, 1))  # standard: kept at minute granularity
    put(store, point(T0 + 45.7, 2, storage_resolution=1))  # high resolution: whole second
    result = stats(store, period=10)
    assert [(r[0], r[3]) for r in result] == [(0, 1.0), (40, 2.0)]


def test_percentiles_nearest_rank(store: MetricStore) -> None:
    put(store, *(point(T0 + i % 60, float(v)) for i, v in enumerate(range(100, 0, -1))))
    wanted = (0.0, 50.0, 90.0, 99.0, 99.9, 100.0)
    [agg] = store.statistics(ACCOUNT, REGION, query(percentiles=wanted))
    assert dict(agg.percentiles) == {0.0: 1, 50.0: 50, 90.0: 90, 99.0: 99, 99.9: 100, 100.0: 100}
    assert agg.statistic("p90") == 90
    assert agg.statistic("Average") == 50.5


def test_percentiles_weight_counts_and_exact_statistic_sets(store: MetricStore) -> None:
    # Distribution: 1 x9, 10 x1 (from a set with min == max), 100 x1 (a one-sample set).
    put(
        store,
        Datapoint("m", T0, values=(1.0,), counts=(9.0,), dimensions=DIMS),
        Datapoint("m", T0, statistics=StatisticSet(1, 10, 10, 10), dimensions=DIMS),
        Datapoint("m", T0, statistics=StatisticSet(1, 100, 100, 100), dimensions=DIMS),
    )
    [agg] = store.statistics(ACCOUNT, REGION, query(percentiles=(50.0, 85.0, 90.0, 95.0)))
    # total 11: rank 5.5 -> 1; 9.35 -> 10; 9.9 -> 10; 10.45 -> 100
    assert dict(agg.percentiles) == {50.0: 1.0, 85.0: 10.0, 90.0: 10.0, 95.0: 100.0}


def test_percentiles_unavailable_for_mixed_sets_or_negative_values(store: MetricStore) -> None:
    put(
        store,
        point(T0, 1),
        Datapoint("m", T0, statistics=StatisticSet(2, 3, 1, 2), dimensions=DIMS),
    )
    put(store, point(T0 + 60, 5), point(T0 + 61, -1))
    put(store, point(T0 + 120, 5))
    result = store.statistics(ACCOUNT, REGION, query(percentiles=(50.0,)))
    assert [dict(a.percentiles) for a in result] == [{}, {}, {50.0: 5.0}]
    assert result[0].statistic("p50") is None


def test_parse_percentile() -> None:
    assert parse_percentile("p99") == 99.0
    assert parse_percentile("p99.9") == 99.9
    assert parse_percentile("p0") == 0.0
    assert parse_percentile("p100") == 100.0
    for bad in ("p101", "p", "99", "pxx", "tm99", "p-1", "p9.", "P50"):
        assert parse_percentile(bad) is None, bad


def test_list_metrics_filters_and_folds_units(store: MetricStore) -> None:
    put(store, point(T0, 1, unit="Seconds"), point(T0, 1, unit="Count"), received_at=100)
    put(store, Datapoint("other", T0, value=1, dimensions=(("Host", "b"),)), received_at=200)
    put(store, Datapoint("m", T0, value=1), received_at=300)
    everything = store.list_metrics(ACCOUNT, REGION)
    assert [(r.metric_name, r.dimensions) for r in everything] == [
        ("m", ()),
        ("m", (("Env", "prod"), ("Host", "a"))),
        ("other", (("Host", "b"),)),
    ]
    named = store.list_metrics(ACCOUNT, REGION, dimension_filters=[("Host", None)])
    assert [r.metric_name for r in named] == ["m", "other"]
    valued = store.list_metrics(ACCOUNT, REGION, dimension_filters=[("Host", "b")])
    assert [r.metric_name for r in valued] == ["other"]
    both = store.list_metrics(ACCOUNT, REGION, dimension_filters=[("Host", "a"), ("Env", None)])
    assert [r.dimensions for r in both] == [DIMS[::-1]]
    assert [r.metric_name for r in store.list_metrics(ACCOUNT, REGION, active_since=250)] == ["m"]
    assert store.list_metrics(ACCOUNT, REGION, namespace="Nope") == []
    assert len(store.list_metrics(ACCOUNT, REGION, metric_name="m")) == 2
    assert store.list_metrics(ACCOUNT, "eu-west-1") == []


def test_put_is_atomic_per_call_and_reuses_series(store: MetricStore, db: Database) -> None:
    put(store, point(T0, 1), point(T0, 2))
    put(store, point(T0 + 1, 3))
    with db.session() as session:
        assert session.query(MetricRow).count() == 1
        assert session.query(DatapointRow).count() == 3


def test_migration_creates_the_declared_tables(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'migrated.db'}")
    database.migrate()
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    database.dispose()
    ours = [d for d in diff if "cw_" in repr(d)]
    assert ours == []


def test_a_series_values_come_back_in_the_order_they_were_put(store: MetricStore) -> None:
    job = (("TrainingJobName", "a"),)
    put(store, Datapoint("loss", T0 + 5, value=0.9, dimensions=job))
    put(
        store,
        Datapoint("loss", T0, value=0.7, dimensions=job),  # an earlier timestamp, put later
        Datapoint("loss", T0, value=5.0, dimensions=(("TrainingJobName", "b"),)),
        Datapoint("acc", T0, value=0.1, dimensions=job),
        Datapoint("loss", T0, value=0.5, dimensions=job, unit="Percent"),
    )
    assert store.values(ACCOUNT, REGION, NS, "loss", job) == [0.9, 0.7, 0.5]
    assert store.values(ACCOUNT, REGION, NS, "loss", (("TrainingJobName", "c"),)) == []
    assert store.values("000000000000", REGION, NS, "loss", job) == []
