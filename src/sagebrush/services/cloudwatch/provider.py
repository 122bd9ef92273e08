"""CloudWatch metrics: PutMetricData, GetMetricStatistics, GetMetricData, ListMetrics.

The same store holds what clients publish and what Sagebrush itself emits (training-job
metrics parsed from logs, endpoint invocation metrics), so the sagemaker SDK's
``TrainingJobAnalytics`` and plain boto3 code read both alike. Alarms, dashboards, metric
streams and metric math are not served. Store work runs on a worker thread so a large batch
or a long scan does not hold up the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from sagebrush.services.base import Provider, RequestContext
from sagebrush.services.cloudwatch._data import page, run_queries
from sagebrush.services.cloudwatch._put import combination, datapoints, invalid
from sagebrush.state.metrics import (
    Aggregate,
    MetricStore,
    StatisticsQuery,
    align_start,
    bucket_count,
    parse_percentile,
    valid_period,
)

MAX_STATISTICS_DATAPOINTS = 1440
LIST_PAGE = 500
RECENTLY_ACTIVE_S = 3 * 3600


class CloudWatchProvider(Provider):
    service = "cloudwatch"

    @property
    def _store(self) -> MetricStore:
        return MetricStore(self.runtime.db)

    async def put_metric_data(
        self,
        ctx: RequestContext,
        *,
        namespace: str,
        metric_data: list[dict[str, Any]] | None = None,
        entity_metric_data: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        now = self.runtime.clock()
        # Entities only link metrics to other telemetry in the console; the data is the same.
        data = list(metric_data or [])
        for entity in entity_metric_data or []:
            data.extend(entity.get("MetricData") or [])
        points = datapoints(namespace, data, now)
        await asyncio.to_thread(
            self._store.put, ctx.account_id, ctx.region, namespace, points, received_at=now
        )
        return {}

    async def get_metric_statistics(
        self,
        ctx: RequestContext,
        *,
        namespace: str,
        metric_name: str,
        start_time: datetime,
        end_time: datetime,
        period: int,
        dimensions: list[dict[str, str]] | None = None,
        statistics: list[str] | None = None,
        extended_statistics: list[str] | None = None,
        unit: str | None = None,
    ) -> dict[str, Any]:
        if statistics and extended_statistics:
            raise combination("Must specify either Statistics or ExtendedStatistics, but not both.")
        if not statistics and not extended_statistics:
            raise combination("Must specify either Statistics or ExtendedStatistics.")
        percentiles = _percentiles(extended_statistics or [])
        if not valid_period(period):
            raise invalid("The parameter Period must be 1, 5, 10, 20, 30, 60 or a multiple of 60.")
        start, end = start_time.timestamp(), end_time.timestamp()
        if start >= end:
            raise invalid("The parameter StartTime must be less than the parameter EndTime.")
        now = self.runtime.clock()
        aligned = align_start(start, period, now)
        requested = bucket_count(aligned, end, period)
        if requested > MAX_STATISTICS_DATAPOINTS:
            raise combination(
                f"You have requested up to {requested:,} datapoints, which exceeds the limit "
                f"of {MAX_STATISTICS_DATAPOINTS:,}. You may reduce the datapoints requested by "
                "increasing Period, or decreasing the time range."
            )
        query = StatisticsQuery(
            namespace=namespace,
            metric_name=metric_name,
            dimensions=tuple((d["Name"], d["Value"]) for d in dimensions or []),
            start=aligned,
            end=end,
            period=period,
            unit=unit,
            percentiles=tuple(p for _, p in percentiles),
        )
        aggregates = await asyncio.to_thread(
            self._store.statistics, ctx.account_id, ctx.region, query
        )
        return {
            "Label": metric_name,
            "Datapoints": [_datapoint(agg, statistics or [], percentiles) for agg in aggregates],
        }

    async def get_metric_data(
        self,
        ctx: RequestContext,
        *,
        metric_data_queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        next_token: str | None = None,
        scan_by: str | None = None,
        max_datapoints: int | None = None,
    ) -> dict[str, Any]:
        store = self._store

        def fetch(query: StatisticsQuery) -> list[Aggregate]:
            return store.statistics(ctx.account_id, ctx.region, query)

        answers = await asyncio.to_thread(
            run_queries,
            metric_data_queries,
            start_time.timestamp(),
            end_time.timestamp(),
            self.runtime.clock(),
            fetch,
        )
        return page(
            answers,
            descending=scan_by != "TimestampAscending",
            max_datapoints=max_datapoints,
            next_token=next_token,
        )

    async def list_metrics(
        self,
        ctx: RequestContext,
        *,
        namespace: str | None = None,
        metric_name: str | None = None,
        dimensions: list[dict[str, str]] | None = None,
        next_token: str | None = None,
        recently_active: str | None = None,
        include_linked_accounts: bool | None = None,
        owning_account: str | None = None,
    ) -> dict[str, Any]:
        offset = _list_offset(next_token) if next_token else 0
        if owning_account is not None and owning_account != ctx.account_id:
            records = []
        else:
            records = await asyncio.to_thread(
                self._store.list_metrics,
                ctx.account_id,
                ctx.region,
                namespace=namespace,
                metric_name=metric_name,
                dimension_filters=[(d["Name"], d.get("Value")) for d in dimensions or []],
                active_since=(
                    self.runtime.clock() - RECENTLY_ACTIVE_S if recently_active else None
                ),
            )
        chunk = records[offset : offset + LIST_PAGE]
        out: dict[str, Any] = {
            "Metrics": [
                {
                    "Namespace": r.namespace,
                    "MetricName": r.metric_name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in r.dimensions],
                }
                for r in chunk
            ]
        }
        if include_linked_accounts:
            out["OwningAccounts"] = [ctx.account_id] * len(chunk)
        if offset + LIST_PAGE < len(records):
            out["NextToken"] = base64.urlsafe_b64encode(
                json.dumps({"o": offset + LIST_PAGE}).encode()
            ).decode()
        return out


def _percentiles(names: list[str]) -> list[tuple[str, float]]:
    parsed = []
    for name in names:
        value = parse_percentile(name)
        if value is None:
            raise invalid(
                f"The value {name} for parameter ExtendedStatistics is not supported "
                "(Sagebrush serves percentiles, p0 to p100)."
            )
        parsed.append((name, value))
    return parsed


def _datapoint(
    agg: Aggregate, statistics: list[str], percentiles: list[tuple[str, float]]
) -> dict[str, Any]:
    point: dict[str, Any] = {
        "Timestamp": datetime.fromtimestamp(agg.timestamp, UTC),
        "Unit": agg.unit,
    }
    for name in statistics:
        point[name] = agg.statistic(name)
    if percentiles:
        point["ExtendedStatistics"] = {
            name: agg.percentiles[value] for name, value in percentiles if value in agg.percentiles
        }
    return point


def _list_offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise invalid("The parameter NextToken is invalid.") from exc
    if not isinstance(offset, int) or offset < 0:
        raise invalid("The parameter NextToken is invalid.")
    return offset
