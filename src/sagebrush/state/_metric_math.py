"""The arithmetic of CloudWatch statistics: period alignment and percentiles.

Kept apart from the tables so it can be checked by hand-computed examples alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

DAY = 86_400

# Periods below a minute that high-resolution metrics may be read at; each divides 60, so
# aligning to the period within the minute is the same as aligning it to the epoch.
HIGH_RESOLUTION_PERIODS = frozenset({1, 5, 10, 20, 30})


def valid_period(period: int) -> bool:
    return period in HIGH_RESOLUTION_PERIODS or (period > 0 and period % 60 == 0)


def align_start(start: float, period: int, now: float) -> int:
    """Round a query's start time down the way CloudWatch does before bucketing.

    Sub-minute periods align to their own multiple within the minute; otherwise the start
    rounds down to the minute when under 15 days old, to 5 minutes up to 63 days, and to
    the hour beyond. Buckets are then ``start + k * period``: they follow the rounded start,
    not the epoch, which is what CloudWatch returns for periods like 300 or 3600.
    """
    if period < 60:
        return math.floor(start / period) * period
    age = now - start
    grain = 60 if age < 15 * DAY else 300 if age < 63 * DAY else 3600
    return math.floor(start / grain) * grain


def bucket_count(start: float, end: float, period: int) -> int:
    """How many periods ``[start, end)`` spans (the last one may be partial)."""
    return max(0, math.ceil((end - start) / period))


@dataclass(frozen=True)
class Aggregate:
    """One period's statistics for one unit of one metric."""

    timestamp: int  # start of the period, epoch seconds
    unit: str
    sample_count: float
    sum: float
    minimum: float
    maximum: float
    # Requested percentile -> value; absent where CloudWatch could not compute it (data
    # sent as statistic sets, or negative values).
    percentiles: Mapping[float, float] = field(default_factory=dict)

    @property
    def average(self) -> float:
        return self.sum / self.sample_count if self.sample_count else 0.0

    def statistic(self, name: str) -> float | None:
        """The value of ``Average``/``Sum``/``SampleCount``/``Minimum``/``Maximum`` or ``pNN``."""
        simple = {
            "Average": self.average,
            "Sum": self.sum,
            "SampleCount": self.sample_count,
            "Minimum": self.minimum,
            "Maximum": self.maximum,
        }
        if name in simple:
            return simple[name]
        percentile = parse_percentile(name)
        return None if percentile is None else self.percentiles.get(percentile)


def parse_percentile(name: str) -> float | None:
    """``p99`` / ``p99.9`` / ``p0`` / ``p100`` -> the percentile; None when not of that form."""
    if len(name) < 2 or name[0] != "p":
        return None
    text = name[1:]
    whole, dot, decimals = text.partition(".")
    if not whole.isdigit() or (dot and not decimals.isdigit()) or len(decimals) > 10:
        return None
    value = float(text)
    return value if 0 <= value <= 100 else None


def weighted_percentiles(
    samples: Iterable[tuple[float | None, float]], wanted: Sequence[float]
) -> dict[float, float]:
    """Nearest-rank percentiles of ``(value, count)`` samples.

    ``pN`` is the smallest value whose cumulative count reaches N% of the total. A sample
    without a value (a statistic set that summarises several distinct values) or a negative
    value makes percentiles unavailable, as in CloudWatch.
    """
    if not wanted:
        return {}
    points: list[tuple[float, float]] = []
    for value, count in samples:
        if value is None or value < 0:
            return {}
        if count > 0:
            points.append((value, count))
    if not points:
        return {}
    points.sort()
    total = sum(count for _, count in points)
    result: dict[float, float] = {}
    for percentile in wanted:
        rank = percentile / 100 * total
        running = 0.0
        chosen = points[-1][0]
        for value, count in points:
            running += count
            # Tolerate float noise in the running sum (0.1 + 0.2 style) at exact ranks.
            if running >= rank - 1e-9 * total:
                chosen = value
                break
        result[percentile] = chosen
    return result
