"""An instance's output, from its log file into CloudWatch Logs and metrics.

Each call to :meth:`LogPump.pump` reads what the instance wrote since the last call, stores
the complete lines as log events of the instance's stream, and applies the job's
``MetricDefinitions`` regexes to them: every match is a datapoint in namespace
``/aws/sagemaker/TrainingJobs`` (dimension ``TrainingJobName``) and the last value of each
metric becomes its ``FinalMetricDataList`` entry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sagebrush.state.logs import LogStore
from sagebrush.state.metrics import Datapoint, MetricStore

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
_MAX_READ = 4 << 20
_MAX_EVENT = 256 * 1024 - 26  # CloudWatch's event size limit, less its per-event overhead


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, definitions: Sequence[Mapping[str, str]]) -> list[MetricDefinition]:
        return [cls(d["Name"], re.compile(d["Regex"])) for d in definitions]


@dataclass
class FinalMetric:
    value: float
    timestamp: float


@dataclass
class LogPump:
    account_id: str
    region: str
    job_name: str
    stream: str
    path: Path
    logs: LogStore
    metrics: MetricStore
    definitions: list[MetricDefinition]
    clock: Callable[[], float]
    offset: int = 0
    final: dict[str, FinalMetric] = field(default_factory=dict)
    _partial: bytes = b""
    group: str = LOG_GROUP  # endpoints use /aws/sagemaker/Endpoints/<name>

    @property
    def consumed(self) -> int:
        """Bytes of the file already stored as events (a resumed pump starts here)."""
        return self.offset - len(self._partial)

    def pump(self, *, flush: bool = False) -> int:
        """Move new complete lines (all lines with ``flush``); returns how many."""
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read(_MAX_READ)
        except FileNotFoundError:
            return 0
        self.offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = b"" if flush else lines.pop()
        lines = [line for line in lines if line.strip()]
        if not lines:
            return 0
        now = self.clock()
        now_ms = int(now * 1000)
        texts = [line.decode("utf-8", "replace").rstrip("\r")[:_MAX_EVENT] for line in lines]
        self.logs.append(
            self.account_id,
            self.region,
            self.group,
            self.stream,
            [(now_ms, text) for text in texts],
            create=True,
        )
        self._extract_metrics(texts, now)
        return len(texts)

    def _extract_metrics(self, texts: list[str], now: float) -> None:
        if not self.definitions:
            return
        points: list[Datapoint] = []
        for text in texts:
            for definition in self.definitions:
                match = definition.regex.search(text)
                if match is None:
                    continue
                value = _number(match.group(1) if match.groups() else match.group(0))
                if value is None:
                    continue
                points.append(
                    Datapoint(
                        definition.name,
                        now,
                        value=value,
                        dimensions=(("TrainingJobName", self.job_name),),
                        storage_resolution=1,
                    )
                )
                self.final[definition.name] = FinalMetric(value, now)
        if points:
            self.metrics.put(
                self.account_id, self.region, METRICS_NAMESPACE, points, received_at=now
            )


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    # CloudWatch refuses NaN and infinities; SageMaker drops such values too.
    return value if math.isfinite(value) else None
