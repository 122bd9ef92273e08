"""The metric store behind CloudWatch: series, datapoints and their statistics.

A *series* is one (namespace, metric name, dimensions, unit) per account and region; the
dimensions are kept sorted by name, so the order a client lists them in never makes a new
metric. CloudWatch itself lists a metric once whatever units it was sent with but returns
statistics per unit, so the unit belongs to the series and ListMetrics folds units away.

Every datapoint row is a statistic set (count, sum, minimum, maximum); rows that came from
single values (``Value``, or ``Values``/``Counts`` pairs) also keep the value itself, which
is what percentiles are computed from. Timestamps are whole seconds, truncated to the
point's storage resolution (60 s unless sent as high resolution): CloudWatch keeps
standard-resolution data at minute granularity, so a 10-second query sees it on the minute.

Other parts of Sagebrush publish through :meth:`MetricStore.put` directly (training metrics
parsed from logs, endpoint invocation metrics); the CloudWatch provider is one more caller.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from sagebrush.state._metric_math import (
    Aggregate,
    align_start,
    bucket_count,
    parse_percentile,
    valid_period,
    weighted_percentiles,
)
from sagebrush.state.db import Database
from sagebrush.state.schema import Base

__all__ = [
    "Aggregate",
    "Datapoint",
    "MetricRecord",
    "MetricStore",
    "StatisticSet",
    "StatisticsQuery",
    "align_start",
    "bucket_count",
    "dimensions",
    "parse_percentile",
    "valid_period",
]

Dimensions = tuple[tuple[str, str], ...]
NO_UNIT = "None"


class MetricRow(Base):
    __tablename__ = "cw_metrics"
    __table_args__ = (UniqueConstraint("account_id", "region", "series_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    # sha256 of (namespace, name, dimensions, unit): dimensions can run to 30 x 1279
    # characters, too long for a PostgreSQL btree key, so lookups go through the digest.
    series_key: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    dimensions: Mapped[str] = mapped_column(Text)  # JSON [[name, value], ...] sorted by name
    unit: Mapped[str] = mapped_column(String(32))
    last_put: Mapped[float] = mapped_column(Float)  # when data last arrived (RecentlyActive)


class DatapointRow(Base):
    __tablename__ = "cw_datapoints"
    __table_args__ = (Index("ix_cw_datapoints_metric_ts", "metric_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("cw_metrics.id", ondelete="CASCADE"))
    ts: Mapped[int] = mapped_column(BigInteger)  # epoch seconds, truncated to resolution
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    sample_count: Mapped[float] = mapped_column(Float)
    sum: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)
    resolution: Mapped[int] = mapped_column(Integer)  # 1 (high resolution) or 60


def dimensions(pairs: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> Dimensions:
    """Dimensions in canonical order (by name), from a mapping or (name, value) pairs."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(sorted((str(k), str(v)) for k, v in items))


@dataclass(frozen=True)
class StatisticSet:
    sample_count: float
    sum: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class Datapoint:
    """One published datum: a value, a list of values with counts, or a statistic set.

    ``dimensions`` may be given in any order; it is kept sorted by name.
    """

    metric_name: str
    timestamp: float  # epoch seconds
    value: float | None = None
    values: tuple[float, ...] = ()
    counts: tuple[float, ...] = ()  # one per value; empty means 1 each
    statistics: StatisticSet | None = None
    dimensions: Dimensions = ()
    unit: str = NO_UNIT
    storage_resolution: int = 60

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", dimensions(self.dimensions))


@dataclass(frozen=True)
class StatisticsQuery:
    """One metric's statistics over ``[start, end)`` in periods of ``period`` seconds.

    ``start`` is already aligned (:func:`align_start`) so that buckets are
    ``start + k * period``. ``unit`` None means every unit, each aggregated apart.
    """

    namespace: str
    metric_name: str
    dimensions: Dimensions
    start: int
    end: float
    period: int
    unit: str | None = None
    percentiles: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", dimensions(self.dimensions))


@dataclass(frozen=True)
class MetricRecord:
    """A metric as ListMetrics reports it (units folded away)."""

    namespace: str
    metric_name: str
    dimensions: Dimensions
    last_put: float


@dataclass(frozen=True)
class _Series:
    namespace: str
    name: str
    dimensions: Dimensions
    unit: str

    @property
    def key(self) -> str:
        text = json.dumps([self.namespace, self.name, self.dimensions, self.unit])
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _Rows:
    series: _Series
    rows: list[dict[str, object]] = field(default_factory=list)


class MetricStore:
    """Durable CloudWatch metrics, keyed by account and region."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- writing ----------------------------------------------------------------------------

    def put(
        self,
        account_id: str,
        region: str,
        namespace: str,
        datapoints: Sequence[Datapoint],
        *,
        received_at: float,
    ) -> None:
        """Store ``datapoints`` in one transaction (all of them or none).

        Input is trusted: the CloudWatch provider enforces AWS's limits before calling.
        """
        batches: dict[str, _Rows] = {}
        for point in datapoints:
            series = _Series(namespace, point.metric_name, point.dimensions, point.unit)
            batch = batches.setdefault(series.key, _Rows(series))
            batch.rows.extend(_rows(point))
        if not batches:
            return
        # Two writers may create the same new series at once; the loser retries and finds it.
        for attempt in range(3):
            try:
                with self._db.session() as session:
                    for key, batch in batches.items():
                        metric_id = self._series_id(session, account_id, region, key, batch)
                        for row in batch.rows:
                            row["metric_id"] = metric_id
                        if batch.rows:
                            session.execute(insert(DatapointRow), batch.rows)
                        session.execute(
                            update(MetricRow)
                            .where(MetricRow.id == metric_id, MetricRow.last_put < received_at)
                            .values(last_put=received_at)
                        )
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    def _series_id(
        self, session: Session, account_id: str, region: str, key: str, batch: _Rows
    ) -> int:
        found = session.scalar(
            select(MetricRow.id).where(
                MetricRow.account_id == account_id,
                MetricRow.region == region,
                MetricRow.series_key == key,
            )
        )
        if found is not None:
            return found
        series = batch.series
        row = MetricRow(
            account_id=account_id,
            region=region,
            series_key=key,
            namespace=series.namespace,
            name=series.name,
            dimensions=json.dumps([list(pair) for pair in series.dimensions]),
            unit=series.unit,
            last_put=0.0,
        )
        session.add(row)
        session.flush()
        return row.id

    # --- reading ----------------------------------------------------------------------------

    def statistics(self, account_id: str, region: str, query: StatisticsQuery) -> list[Aggregate]:
        """Statistics per period ``[start + k*period, start + (k+1)*period)`` and unit.

        The query's dimensions must match the metric's exactly (CloudWatch does not
        aggregate across dimensions); only periods with data are returned, oldest first.
        """
        start, period = query.start, query.period
        ids = self._series_ids(account_id, region, query)
        if not ids:
            return []
        bucket = ((DatapointRow.ts - start) // period).label("bucket")
        where = (
            DatapointRow.metric_id.in_(ids),
            DatapointRow.ts >= start,
            DatapointRow.ts < query.end,
        )
        with self._db.session() as session:
            totals = session.execute(
                select(
                    MetricRow.unit,
                    bucket,
                    func.sum(DatapointRow.sample_count),
                    func.sum(DatapointRow.sum),
                    func.min(DatapointRow.minimum),
                    func.max(DatapointRow.maximum),
                )
                .join(MetricRow, MetricRow.id == DatapointRow.metric_id)
                .where(*where)
                .group_by(MetricRow.unit, bucket)
            ).all()
            samples: dict[tuple[str, int], list[tuple[float | None, float]]] = {}
            if query.percentiles:
                raw = session.execute(
                    select(MetricRow.unit, bucket, DatapointRow.value, DatapointRow.sample_count)
                    .join(MetricRow, MetricRow.id == DatapointRow.metric_id)
                    .where(*where)
                )
                for row_unit, index, value, count in raw:
                    samples.setdefault((row_unit, int(index)), []).append((value, count))
        result = [
            Aggregate(
                timestamp=start + int(index) * period,
                unit=row_unit,
                sample_count=count,
                sum=total,
                minimum=low,
                maximum=high,
                percentiles=weighted_percentiles(
                    samples.get((row_unit, int(index)), []), query.percentiles
                ),
            )
            for row_unit, index, count, total, low, high in totals
        ]
        result.sort(key=lambda a: (a.timestamp, a.unit))
        return result

    def values(
        self,
        account_id: str,
        region: str,
        namespace: str,
        metric_name: str,
        dims: Dimensions,
    ) -> list[float]:
        """Every single value put to one series (any unit), in the order they were put: a
        training job's objective as its log reported it, epoch after epoch."""
        canonical = json.dumps([list(pair) for pair in dims])
        with self._db.session() as session:
            # The series first (one row per unit), then their datapoints by the indexed id:
            # not every datapoint of the metric name across all jobs.
            ids = session.scalars(
                select(MetricRow.id).where(
                    MetricRow.account_id == account_id,
                    MetricRow.region == region,
                    MetricRow.namespace == namespace,
                    MetricRow.name == metric_name,
                    MetricRow.dimensions == canonical,
                )
            ).all()
            if not ids:
                return []
            values = session.scalars(
                select(DatapointRow.value)
                .where(DatapointRow.metric_id.in_(ids), DatapointRow.value.is_not(None))
                .order_by(DatapointRow.id)
            ).all()
        return [float(v) for v in values if v is not None]

    def _series_ids(self, account_id: str, region: str, query: StatisticsQuery) -> list[int]:
        canonical = json.dumps([list(pair) for pair in query.dimensions])
        select_ids = select(MetricRow.id, MetricRow.dimensions).where(
            MetricRow.account_id == account_id,
            MetricRow.region == region,
            MetricRow.namespace == query.namespace,
            MetricRow.name == query.metric_name,
        )
        if query.unit is not None:
            select_ids = select_ids.where(MetricRow.unit == query.unit)
        with self._db.session() as session:
            # Compared in Python: dimensions are TEXT, and TEXT equality is not indexable
            # on every backend; a metric name rarely has many dimension combinations.
            rows = session.execute(select_ids).all()
        return [row[0] for row in rows if row[1] == canonical]

    def list_metrics(
        self,
        account_id: str,
        region: str,
        *,
        namespace: str | None = None,
        metric_name: str | None = None,
        dimension_filters: Sequence[tuple[str, str | None]] = (),
        active_since: float | None = None,
    ) -> list[MetricRecord]:
        """Metrics matching every filter, in a stable order, each listed once.

        A dimension filter ``(name, None)`` matches any value of that dimension; a metric
        with more dimensions than the filters name still matches, as in CloudWatch.
        """
        query = select(
            MetricRow.namespace, MetricRow.name, MetricRow.dimensions, MetricRow.last_put
        ).where(MetricRow.account_id == account_id, MetricRow.region == region)
        if namespace is not None:
            query = query.where(MetricRow.namespace == namespace)
        if metric_name is not None:
            query = query.where(MetricRow.name == metric_name)
        if active_since is not None:
            query = query.where(MetricRow.last_put >= active_since)
        with self._db.session() as session:
            rows = session.execute(query).all()
        merged: dict[tuple[str, str, str], float] = {}
        for ns, name, dims_json, last_put in rows:
            key = (ns, name, dims_json)
            merged[key] = max(last_put, merged.get(key, 0.0))
        records = []
        for (ns, name, dims_json), last_put in merged.items():
            dims = tuple((str(k), str(v)) for k, v in json.loads(dims_json))
            if _matches(dims, dimension_filters):
                records.append(MetricRecord(ns, name, dims, last_put))
        records.sort(key=lambda r: (r.namespace, r.metric_name, r.dimensions))
        return records


def _matches(dims: Dimensions, filters: Sequence[tuple[str, str | None]]) -> bool:
    present = dict(dims)
    for name, value in filters:
        if name not in present or (value is not None and present[name] != value):
            return False
    return True


def _rows(point: Datapoint) -> list[dict[str, object]]:
    resolution = 1 if point.storage_resolution < 60 else 60
    ts = math.floor(point.timestamp / resolution) * resolution
    base: dict[str, object] = {"ts": ts, "resolution": resolution}
    rows: list[dict[str, object]] = []
    if point.value is not None:
        rows.append(_value_row(base, point.value, 1.0))
    counts = point.counts or (1.0,) * len(point.values)
    for value, count in zip(point.values, counts, strict=True):
        if count > 0:
            rows.append(_value_row(base, value, count))
    stats = point.statistics
    if stats is not None:
        # A set with one sample, or with min == max, still says exactly which value was
        # seen; CloudWatch computes percentiles for those and for nothing else sent as sets.
        exact = stats.sample_count == 1 or stats.minimum == stats.maximum
        rows.append(
            {
                **base,
                "value": stats.minimum if exact else None,
                "sample_count": stats.sample_count,
                "sum": stats.sum,
                "minimum": stats.minimum,
                "maximum": stats.maximum,
            }
        )
    return rows


def _value_row(base: dict[str, object], value: float, count: float) -> dict[str, object]:
    return {
        **base,
        "value": value,
        "sample_count": count,
        "sum": value * count,
        "minimum": value,
        "maximum": value,
    }
