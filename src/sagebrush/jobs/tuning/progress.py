"""Where a tuning job stands, read from its children: counters, the best child, criteria.

The controller decides from this when the job ends; DescribeHyperParameterTuningJob shows
it (``TrainingJobStatusCounters``, ``ObjectiveStatusCounters``, ``BestTrainingJob``,
``TuningJobCompletionDetails``).

Completion criteria, as SageMaker states them:

- ``TargetObjectiveMetricValue``: a completed child reached it;
- ``BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving``: that many children in
  a row (in the order they ended) did not improve the best objective by 1% or more;
- ``ConvergenceDetected.CompleteOnConvergence`` ``Enabled``: SageMaker's own test is not
  published; here the search has converged once at least 10 children completed and the
  last quarter of them (at least 5) did not improve the best by 1%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sagebrush.jobs.training import status as training
from sagebrush.jobs.tuning.children import Child, objective_value, succeeded
from sagebrush.jobs.tuning.space import Objective, definitions_of, grid_size
from sagebrush.state.resources import Resource

IMPROVEMENT = 0.01  # what counts as improving the best objective
CONVERGENCE_MIN_COMPLETED = 10


@dataclass(frozen=True)
class Details:
    met: bool
    facts: dict[str, Any]


@dataclass
class Progress:
    objective: Objective
    max_jobs: int
    created: int = 0
    running: int = 0
    finished: int = 0
    failed_only: bool = False
    last_failed: str = ""
    last_failure: str = ""
    best: tuple[Child, Resource, float] | None = None
    status_counters: dict[str, int] = field(default_factory=dict)
    objective_counters: dict[str, int] = field(default_factory=dict)
    completed_values: list[float] = field(default_factory=list)  # in the order they ended

    def completion_details(self, criteria: Mapping[str, Any], now: float) -> Details:
        not_improving = _not_improving(self.completed_values, self.objective)
        facts: dict[str, Any] = {"not_improving": not_improving}
        met = False
        target = criteria.get("TargetObjectiveMetricValue")
        if target is not None and self.best is not None:
            best = self.best[2]
            met |= best >= float(target) if self.objective.maximize else best <= float(target)
        limit = (criteria.get("BestObjectiveNotImproving") or {}).get(
            "MaxNumberOfTrainingJobsNotImproving"
        )
        if limit is not None and not_improving >= int(limit):
            met = True
        convergence = (criteria.get("ConvergenceDetected") or {}).get("CompleteOnConvergence")
        completed = len(self.completed_values)
        if (
            convergence == "Enabled"
            and completed >= CONVERGENCE_MIN_COMPLETED
            and not_improving >= max(5, completed // 4)
        ):
            met = True
            facts["converged_at"] = now
        return Details(met, facts)


def progress_of(
    job: Resource, children: Sequence[tuple[Child, Resource | None]], objective: Objective
) -> Progress:
    state = Progress(objective, max_jobs(job.spec))
    status = dict.fromkeys(
        ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped"), 0
    )
    objectives = dict.fromkeys(("Succeeded", "Pending", "Failed"), 0)
    ended: list[tuple[float, float]] = []
    state.created = len(children)
    failures = 0
    for child, record in children:
        if record is None or record.status not in training.TERMINAL:
            state.running += 1
            status["InProgress"] += 1
            objectives["Pending"] += 1
            continue
        state.finished += 1
        value = objective_value(record, objective)
        if record.status == training.TrainingJobStatus.FAILED:
            failures += 1
            reason = str(record.facts.get("failure_reason") or "")
            retryable = reason.startswith("InternalServerError")
            status["RetryableError" if retryable else "NonRetryableError"] += 1
            state.last_failed, state.last_failure = child.name, reason
        else:
            status[record.status] += 1
        objectives[
            "Succeeded" if value is not None and record.status != "Failed" else "Failed"
        ] += 1
        if succeeded(record) and value is not None:
            ended.append((float(record.facts.get("training_end") or record.modified), value))
            if state.best is None or objective.better(value, state.best[2]):
                state.best = (child, record, value)
    state.failed_only = state.finished > 0 and failures == state.finished
    state.status_counters, state.objective_counters = status, objectives
    state.completed_values = [value for _, value in sorted(ended, key=lambda e: e[0])]
    return state


def max_jobs(spec: Mapping[str, Any]) -> int:
    """MaxNumberOfTrainingJobs; for Grid without it, the number of combinations."""
    config = spec["HyperParameterTuningJobConfig"]
    given = config["ResourceLimits"].get("MaxNumberOfTrainingJobs")
    if given is not None:
        return int(given)
    if config["Strategy"] == "Grid":
        return grid_size(definitions_of(spec)[0].ranges)
    return 0


def _not_improving(values: Sequence[float], objective: Objective) -> int:
    """How many children in a row, to the last one, did not improve the best by 1%."""
    best: float | None = None
    count = 0
    for value in values:
        if best is None or _improves(value, best, objective):
            best, count = value, 0
        else:
            count += 1
            if objective.better(value, best):
                best = value
    return count


def _improves(value: float, best: float, objective: Objective) -> bool:
    margin = abs(best) * IMPROVEMENT
    return value >= best + margin if objective.maximize else value <= best - margin
