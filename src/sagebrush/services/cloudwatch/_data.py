"""GetMetricData: MetricStat queries, ordering and datapoint pagination.

Metric math and Metrics Insights expressions are not evaluated; a query that uses one gets
an explicit NotImplemented answer naming it rather than silently empty data.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sagebrush.aws.errors import AwsError
from sagebrush.state.metrics import (
    Aggregate,
    StatisticsQuery,
    align_start,
    parse_percentile,
    valid_period,
)

MAX_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100_800
SIMPLE_STATS = ("Average", "Sum", "SampleCount", "Minimum", "Maximum")
_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")

Fetch = Callable[[StatisticsQuery], list[Aggregate]]


def validation(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


@dataclass(frozen=True)
class Series:
    """One query's answer, in the requested order."""

    query_id: str
    label: str
    points: list[tuple[int, float]]


def run_queries(
    queries: Sequence[Mapping[str, Any]],
    start: float,
    end: float,
    now: float,
    fetch: Fetch,
) -> list[Series]:
    """Answer every query that returns data; the others are checked but not fetched."""
    if not queries:
        raise validation("The parameter MetricDataQueries is required.")
    if len(queries) > MAX_QUERIES:
        raise validation(
            f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )
    if start >= end:
        raise validation("The parameter StartTime must be less than the parameter EndTime.")
    ids = [q["Id"] for q in queries]
    if len(set(ids)) != len(ids):
        raise validation("The values for parameter id in MetricDataQueries are not unique.")
    answers = []
    for i, query in enumerate(queries, 1):
        path = f"MetricDataQueries.member.{i}"
        if not _ID.fullmatch(query["Id"]):
            raise validation(
                f"The value {query['Id']} for parameter {path}.Id is invalid: it must start "
                "with a lowercase letter and contain only letters, digits and underscores."
            )
        stat = query.get("MetricStat")
        if query.get("Expression") is not None:
            if stat is not None:
                raise validation(
                    f"The parameters {path}.MetricStat and {path}.Expression are mutually "
                    "exclusive and you have specified both."
                )
            raise AwsError(
                "NotImplemented",
                f"Sagebrush does not evaluate metric math or Metrics Insights expressions "
                f"(query {query['Id']}); use MetricStat queries.",
                501,
                sender_fault=False,
            )
        if stat is None:
            raise validation(f"The parameter {path}.MetricStat is required.")
        window = _Window(start, end, now)
        series = _metric_stat(path, query, stat, window=window, fetch=fetch)
        if query.get("ReturnData", True):
            answers.append(series)
    return answers


@dataclass(frozen=True)
class _Window:
    start: float
    end: float
    now: float


def _metric_stat(
    path: str,
    query: Mapping[str, Any],
    stat: Mapping[str, Any],
    *,
    window: _Window,
    fetch: Fetch,
) -> Series:
    metric = stat["Metric"]
    if not metric.get("Namespace") or not metric.get("MetricName"):
        raise validation(f"The parameter {path}.MetricStat.Metric is missing a field.")
    period = stat["Period"]
    if not valid_period(period):
        raise validation(
            f"The parameter {path}.MetricStat.Period must be 1, 5, 10, 20, 30, 60 or a "
            "multiple of 60."
        )
    name = stat["Stat"]
    percentile = parse_percentile(name)
    if name not in SIMPLE_STATS and percentile is None:
        raise validation(
            f"The value {name} for parameter {path}.MetricStat.Stat is not supported "
            "(Sagebrush serves Average, Sum, SampleCount, Minimum, Maximum and pNN)."
        )
    dims = tuple((d["Name"], d["Value"]) for d in metric.get("Dimensions") or [])
    aggregates = fetch(
        StatisticsQuery(
            namespace=metric["Namespace"],
            metric_name=metric["MetricName"],
            dimensions=dims,
            start=align_start(window.start, period, window.now),
            end=window.end,
            period=period,
            unit=stat.get("Unit"),
            percentiles=() if percentile is None else (percentile,),
        )
    )
    # Several units in one period (only without a Unit filter) fold into one value per
    # timestamp: GetMetricData has no room for a unit per point.
    merged: dict[int, Aggregate] = {}
    for agg in aggregates:
        known = merged.get(agg.timestamp)
        merged[agg.timestamp] = agg if known is None else _fold(known, agg)
    points = []
    for timestamp, agg in sorted(merged.items()):
        value = agg.statistic(name)
        if value is not None:
            points.append((timestamp, value))
    return Series(query["Id"], query.get("Label") or metric["MetricName"], points)


def _fold(a: Aggregate, b: Aggregate) -> Aggregate:
    return Aggregate(
        timestamp=a.timestamp,
        unit=a.unit,
        sample_count=a.sample_count + b.sample_count,
        sum=a.sum + b.sum,
        minimum=min(a.minimum, b.minimum),
        maximum=max(a.maximum, b.maximum),
        # Percentiles of the union are unknown from the parts alone.
        percentiles={},
    )


def page(
    answers: Sequence[Series],
    *,
    descending: bool,
    max_datapoints: int | None,
    next_token: str | None,
) -> dict[str, Any]:
    """One page of results; datapoints are counted across queries in query order."""
    offset = _offset(next_token) if next_token else 0
    limit = max_datapoints or DEFAULT_MAX_DATAPOINTS
    if limit < 1:
        raise validation("The parameter MaxDatapoints must be greater than 0.")
    results = []
    position = 0
    for series in answers:
        points = list(reversed(series.points)) if descending else series.points
        first = max(0, offset - position)
        last = max(first, min(len(points), offset + limit - position))
        chunk = points[first:last]
        position += len(points)
        results.append(
            {
                "Id": series.query_id,
                "Label": series.label,
                "Timestamps": [datetime.fromtimestamp(ts, UTC) for ts, _ in chunk],
                "Values": [value for _, value in chunk],
                "StatusCode": "Complete" if last == len(points) else "PartialData",
                "Messages": [],
            }
        )
    out: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
    if offset + limit < position:
        out["NextToken"] = _token(offset + limit)
    return out


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise AwsError("InvalidNextToken", "The service found NextToken invalid.", 400) from exc
    if not isinstance(offset, int) or offset < 0:
        raise AwsError("InvalidNextToken", "The service found NextToken invalid.", 400)
    return offset
