"""The tuning controller: each tuning job's optimizer, its children, and when it ends.

:meth:`TuningController.reconcile_once` visits every unfinished tuning job (woken by the
API, and by the training controller whenever a child's status moves):

1. its children that ended since the last visit are told to the optimizer (their objective,
   or a failure, or pruned when early stopping stopped them);
2. running children's intermediate objective values (the training job's metric, one per
   epoch as its log reports it) go to the pruner; one it prunes is stopped;
3. the job ends — Completed when every child it may create has ended or a completion
   criterion holds, Failed when its first children all fail, Stopping/Stopped when asked —
   or else gets new children, up to ``MaxParallelTrainingJobs`` running at once and
   ``MaxNumberOfTrainingJobs`` in all.

A child is recorded in the tuning job's facts before it is created, so a server that dies
in between leaves a record the next one completes. The optimizer is rebuilt from the
children on a server's first visit (see :mod:`~sagebrush.jobs.tuning.tuner`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sagebrush.jobs.lifecycle import IllegalTransition, transition
from sagebrush.jobs.reconcile import ReconcileLoop
from sagebrush.jobs.training import status as training
from sagebrush.jobs.training.logpump import METRICS_NAMESPACE
from sagebrush.jobs.training.stopping import StopConflict, request_stop
from sagebrush.jobs.training.submit import submit
from sagebrush.jobs.tuning.children import (
    Child,
    child_name,
    child_request,
    children_of,
    objective_value,
    succeeded,
    training_arn,
)
from sagebrush.jobs.tuning.context import TuningContext
from sagebrush.jobs.tuning.progress import Progress, progress_of
from sagebrush.jobs.tuning.status import KIND, LIFECYCLE, TERMINAL
from sagebrush.jobs.tuning.status import TuningJobStatus as T
from sagebrush.jobs.tuning.tuner import Tuner
from sagebrush.state.resources import Resource, ResourceExists

log = logging.getLogger(__name__)
# The first children of a job all failing ends it: its definition is broken.
FAILURES_TO_GIVE_UP = 3


@dataclass
class _Live:
    """What this server holds for one tuning job: its optimizer and the children told."""

    tuner: Tuner
    told: set[str] = field(default_factory=set)


class TuningController(ReconcileLoop):
    def __init__(
        self,
        ctx: TuningContext,
        wake_training: Callable[[], None],
        *,
        interval: float = 0.5,
    ) -> None:
        super().__init__("tuning-controller", interval)
        self.ctx = ctx
        self._wake_training = wake_training
        self._live: dict[int, _Live] = {}

    def close(self, timeout: float = 5.0) -> None:
        """Stop reconciling. Children go on running; the next server picks the jobs up."""
        self._stop_loop(timeout)

    def reconcile_once(self) -> None:
        jobs = self.ctx.store.unfinished(KIND, TERMINAL)
        alive = {job.id for job in jobs}
        for job_id in [i for i in self._live if i not in alive]:
            del self._live[job_id]
        for job in jobs:
            try:
                self._visit(job)
            except Exception:
                log.exception("reconciling tuning job %s", job.name)

    # --- one job --------------------------------------------------------------------------------

    def _visit(self, job: Resource) -> None:
        live = self._live.get(job.id)
        if live is None:
            live = self._live[job.id] = self._rebuild(job)
        children = self._children(job)
        self._tell_ended(job, live, children)
        if job.status == T.STOPPING or job.stop_requested:
            self._stop(job, children)
            return
        decided = job.facts.get("ending")
        if decided:
            # Decided on an earlier visit: waiting for the children it stopped to end.
            self._end(job, children, (decided["status"], decided["reason"], decided["facts"]))
            return
        self._prune(job, live, children)
        state = progress_of(job, children, live.tuner.objective)
        ending = self._ending(job, state)
        if ending is not None:
            self._end(job, children, ending)
            return
        self._launch(job, live, state)

    def _children(self, job: Resource) -> list[tuple[Child, Resource | None]]:
        return children_of(self.ctx.store, job)

    def _tell_ended(
        self, job: Resource, live: _Live, children: Sequence[tuple[Child, Resource | None]]
    ) -> None:
        early = set(job.facts.get("early_stopped") or [])
        for child, record in children:
            if record is None:
                # Recorded, then the server died before creating it: create it now.
                self._create(job, child, live.tuner)
                continue
            if child.name in live.told or record.status not in training.TERMINAL:
                continue
            value = objective_value(record, live.tuner.objective)
            pruned = child.name in early
            live.tuner.finish(child.name, value if succeeded(record) else None, pruned=pruned)
            live.told.add(child.name)

    def _prune(
        self, job: Resource, live: _Live, children: Sequence[tuple[Child, Resource | None]]
    ) -> None:
        metric = live.tuner.objective.metric
        for child, record in children:
            if record is None or record.secondary_status != training.SecondaryStatus.TRAINING:
                continue
            values = self._intermediate(job, child.name, metric)
            if not live.tuner.report(child.name, values):
                continue
            try:
                stopping, _ = request_stop(
                    self.ctx.store,
                    record,
                    self.ctx.clock,
                    "Stopping the training job: the tuning job stopped it early (its objective "
                    "was worse than the median of the completed training jobs at this epoch)",
                )
            except StopConflict:
                continue
            if stopping:
                early = [*(job.facts.get("early_stopped") or []), child.name]
                job = self._record(job, early_stopped=early) or job
                log.info("tuning job %s: stopped %s early", job.name, child.name)
                self._wake_training()

    def _intermediate(self, job: Resource, child: str, metric: str) -> list[float]:
        return self.ctx.metrics.values(
            job.account_id,
            job.region,
            METRICS_NAMESPACE,
            metric,
            (("TrainingJobName", child),),
        )

    # --- ending -------------------------------------------------------------------------------

    def _ending(self, job: Resource, state: Progress) -> tuple[str, str, dict[str, Any]] | None:
        """(status, reason, facts) when the job is done, else None."""
        config = job.spec["HyperParameterTuningJobConfig"]
        limits = config["ResourceLimits"]
        max_runtime = limits.get("MaxRuntimeInSeconds")
        if max_runtime and self.ctx.clock() - job.created >= float(max_runtime):
            return T.STOPPING, "", {"ended_by": "MaxRuntimeInSeconds"}
        if state.finished >= min(FAILURES_TO_GIVE_UP, state.max_jobs) and state.failed_only:
            return (
                T.FAILED,
                f"The tuning job failed: its first {state.finished} training jobs failed. "
                f"Last failure ({state.last_failed}): {state.last_failure}",
                {},
            )
        criteria = config.get("TuningJobCompletionCriteria") or {}
        details = state.completion_details(criteria, self.ctx.clock())
        if state.running == 0 and (state.created >= state.max_jobs or details.met):
            if state.best is None:
                return (
                    T.FAILED,
                    "The tuning job failed: no training job completed with a value for the "
                    f"objective metric {state.objective.metric}.",
                    details.facts,
                )
            return T.COMPLETED, "", details.facts
        if details.met:
            # Criteria met: no new children; the running ones finish.
            return None if state.running else (T.COMPLETED, "", details.facts)
        return None

    def _end(
        self,
        job: Resource,
        children: Sequence[tuple[Child, Resource | None]],
        ending: tuple[str, str, dict[str, Any]],
    ) -> None:
        status, reason, facts = ending
        if status == T.STOPPING:
            # MaxRuntimeInSeconds: children are stopped, and the job then ends Stopped.
            self._transition(job, T.STOPPING, "Stopping: MaxRuntimeInSeconds reached", facts)
            return
        if self._stop_children(children):
            # It ends once the children stopped have ended; the decision is kept meanwhile
            # (their ending would change the counts it was taken on).
            self._record(job, ending={"status": status, "reason": reason, "facts": facts})
            return
        if reason:
            facts = {**facts, "failure_reason": reason}
        self._transition(
            job, status, reason or "The tuning job completed", {**facts, "ending": None}
        )

    def _stop(self, job: Resource, children: Sequence[tuple[Child, Resource | None]]) -> None:
        if job.status == T.IN_PROGRESS:
            moved = self._transition(job, T.STOPPING, "Stopping the tuning job", {})
            if moved is None:
                return
            job = moved
        if self._stop_children(children) == 0:
            self._transition(job, T.STOPPED, "The tuning job stopped", {})

    def _stop_children(self, children: Sequence[tuple[Child, Resource | None]]) -> int:
        """Ask every running child to stop; how many have not ended yet."""
        running = 0
        for _child, record in children:
            if record is None or record.status in training.TERMINAL:
                continue
            running += 1
            with contextlib.suppress(StopConflict):
                request_stop(self.ctx.store, record, self.ctx.clock, "Stopping the training job")
        if running:
            self._wake_training()
        return running

    # --- new children -----------------------------------------------------------------------

    def _launch(self, job: Resource, live: _Live, state: Progress) -> None:
        parallel = int(
            job.spec["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"]
        )
        created, running = state.created, state.running
        launched = False
        while running < parallel and created < state.max_jobs:
            trial, suggestion = live.tuner.suggest()
            name = child_name(job.name, created + 1)
            child = Child(name, suggestion.definition.name, suggestion.hyperparameters)
            recorded = self._record(
                job, children=[*(job.facts.get("children") or []), child.to_json()]
            )
            if recorded is None:
                live.tuner.discard(trial)
                return  # the job changed (a stop request): the next visit decides again
            job = recorded
            live.tuner.bind(name, trial)
            self._create(job, child, live.tuner)
            created += 1
            running += 1
            launched = True
        if launched:
            self._wake_training()

    def _create(self, job: Resource, child: Child, tuner: Tuner) -> None:
        definition = next(
            (d for d in tuner.definitions if d.name == child.definition), tuner.definitions[0]
        )
        tags = [{"Key": k, "Value": v} for k, v in self.ctx.store.tags(job.arn)]
        request = child_request(child.name, definition, child.tuned, tags)
        request["TuningJobArn"] = job.arn  # shown by DescribeTrainingJob
        try:
            submit(
                self.ctx.store,
                account_id=job.account_id,
                region=job.region,
                arn=training_arn(job.region, job.account_id, child.name),
                request=request,
                now=self.ctx.clock(),
                tags=dict(self.ctx.store.tags(job.arn)),
            )
        except ResourceExists:
            log.warning("tuning job %s: child %s already exists", job.name, child.name)

    # --- a restart -------------------------------------------------------------------------------

    def _rebuild(self, job: Resource) -> _Live:
        """The optimizer, as it stood: warm-start parents' results, then each child's."""
        history = self._parent_history(job)
        children = self._children(job)
        finished = sum(1 for _, r in children if r is not None and r.status in training.TERMINAL)
        tuner = Tuner(job.spec, history=len(history) + finished)
        for params, value, intermediate in history:
            tuner.add_finished(params, value, intermediate)
        live = _Live(tuner)
        early = set(job.facts.get("early_stopped") or [])
        for child, record in children:
            known = tuner.params_of(child.definition, child.tuned)
            if record is None or known is None:
                continue
            values = self._intermediate(job, child.name, tuner.objective.metric)
            if record.status in training.TERMINAL:
                result = objective_value(record, tuner.objective) if succeeded(record) else None
                tuner.add_finished(known, result, values, pruned=child.name in early)
                live.told.add(child.name)
            else:
                tuner.resume(child.name, known, values)
        return live

    def _parent_history(self, job: Resource) -> list[tuple[dict[str, Any], float, list[float]]]:
        """Warm start: the parents' completed children as the optimizer's past trials (those
        whose hyperparameters fall inside this job's ranges)."""
        warm = job.spec.get("WarmStartConfig")
        if not warm:
            return []
        probe = Tuner(job.spec)
        out: list[tuple[dict[str, Any], float, list[float]]] = []
        for parent_ref in warm.get("ParentHyperParameterTuningJobs") or []:
            parent = self.ctx.store.find(
                KIND, job.account_id, job.region, parent_ref["HyperParameterTuningJobName"]
            )
            if parent is None:
                continue
            for child, record in self._children(parent):
                if record is None or not succeeded(record):
                    continue
                value = objective_value(record, probe.objective)
                params = probe.params_of(child.definition, child.tuned)
                if value is None or params is None:
                    continue
                out.append((params, value, []))
        return out

    # --- writes -----------------------------------------------------------------------------

    def _record(self, job: Resource, **facts: Any) -> Resource | None:
        return self.ctx.store.change(
            job.id, expect_status=[T.IN_PROGRESS], now=self.ctx.clock(), facts=facts
        )

    def _transition(
        self, job: Resource, to: str, message: str, facts: Mapping[str, Any]
    ) -> Resource | None:
        try:
            return transition(
                self.ctx.store, LIFECYCLE, job, to, message, now=self.ctx.clock(), facts=facts
            )
        except IllegalTransition:
            log.warning("ignored illegal transition of %s: %s -> %s", job.name, job.status, to)
            return None
