"""The training controller: admission under the instance quota, runs, stops, adoption.

:meth:`TrainingController.reconcile_once` is level-triggered and idempotent: it reads every
unfinished job and makes what runs in this process agree with it — admits waiting jobs in
creation order while the quota has room (the rest wait, ``Pending``), hands stop requests
to running jobs, finishes stopped jobs that never started, and adopts jobs that an earlier
server launched. Runs report their steps through :meth:`report`; status changes go through
:func:`sagebrush.jobs.lifecycle.transition` only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sagebrush.container import isolation
from sagebrush.container.images import ImageRuntime, resolve_training_image
from sagebrush.jobs.lifecycle import IllegalTransition, transition
from sagebrush.jobs.reconcile import ReconcileLoop
from sagebrush.jobs.training.context import TrainingContext
from sagebrush.jobs.training.instances_plan import instance_plans
from sagebrush.jobs.training.run import TrainingRun
from sagebrush.jobs.training.status import KIND, LIFECYCLE, TERMINAL
from sagebrush.jobs.training.status import SecondaryStatus as S
from sagebrush.state.resources import Resource

log = logging.getLogger(__name__)
_WAITING = (S.STARTING, S.PENDING)
_IN_FLIGHT = (S.DOWNLOADING, S.TRAINING, S.UPLOADING)


class TrainingController(ReconcileLoop):
    def __init__(self, ctx: TrainingContext, *, interval: float = 0.5) -> None:
        super().__init__("training-controller", interval)
        self.ctx = ctx
        self.runs: dict[int, TrainingRun] = {}
        self._ended: set[int] = set()
        self._lock = threading.Lock()
        # Called (from a run's thread) after any job's status moved: a tuning job waits on
        # its children.
        self.listeners: list[Callable[[], None]] = []

    def running_instances(self) -> list[tuple[str, int]]:
        """``(job, instance processes running)`` of every job with a run in this process."""
        # No lock: a reconcile pass holds it for its database work; a copy is atomic.
        runs = list(self.runs.values())
        return [(run.job.name, run.running) for run in runs if run.running]

    def instance_pids(self) -> list[tuple[str, list[int]]]:
        """``(job, pids of its instance processes alive now)`` for ``sagebrush status``."""
        runs = list(self.runs.values())  # no lock, as above
        alive = self.ctx.launcher.alive
        found = [(run.job.name, [h.pid for h in run.handles if alive(h)]) for run in runs]
        return [(name, pids) for name, pids in found if pids]

    def close(self, timeout: float = 5.0) -> None:
        """Stop reconciling. Running instances are left running: the next server adopts them."""
        self._stop_loop(timeout)

    # --- one step ----------------------------------------------------------------------------

    def reconcile_once(self) -> None:
        with self._lock:
            for job_id in [i for i, run in self.runs.items() if run.done.is_set()]:
                del self.runs[job_id]
                self._ended.add(job_id)
            jobs = self.ctx.store.unfinished(KIND, TERMINAL)
            self._ended &= {job.id for job in jobs}
            in_use = sum(run.instance_count for run in self.runs.values())
            queue_blocked = False
            for job in jobs:
                try:
                    if job.id in self._ended:
                        # Its run ended without a final status (a bug): never run it twice.
                        self._fail(job, "InternalServerError: the job's run ended early")
                    elif job.id in self.runs:
                        if job.stop_requested:
                            self.runs[job.id].request_stop()
                    elif job.secondary_status == S.STOPPING and not job.facts.get("launched"):
                        self._finish_unstarted(job)
                    elif job.secondary_status in _WAITING:
                        count = _instance_count(job)
                        if queue_blocked or in_use + count > self.ctx.settings.instance_quota:
                            # Strict creation order: a big job is not overtaken forever.
                            queue_blocked = True
                            self._wait(job, in_use)
                            continue
                        in_use += self._start(job)
                    else:
                        in_use += self._adopt(job)
                except Exception:
                    log.exception("reconciling training job %s", job.name)

    def _start(self, job: Resource) -> int:
        if job.secondary_status == S.PENDING:
            moved = self._transition(job, S.STARTING, "Preparing the instances for training")
            if moved is None:
                return 0
            job = moved
        run = self._run_for(job, adopt=False)
        self.runs[job.id] = run
        run.start()
        return run.instance_count

    def _adopt(self, job: Resource) -> int:
        if not job.facts.get("launched") or job.secondary_status not in (*_IN_FLIGHT, S.STOPPING):
            # The previous server died while preparing the instances: nothing ran yet.
            self._fail(
                job,
                "InternalServerError: the server stopped while the job was being "
                "prepared; start it again",
            )
            return 0
        run = self._run_for(job, adopt=True)
        if job.stop_requested:
            run.request_stop()
        self.runs[job.id] = run
        run.start()
        return run.instance_count

    def _run_for(self, job: Resource, *, adopt: bool) -> TrainingRun:
        image = job_image(self.ctx, job.spec)
        plans = instance_plans(
            job_name=job.name,
            job_arn=job.arn,
            region=job.region,
            spec=job.spec,
            image=image,
            job_dir=self.ctx.job_dir(job),
            endpoint_url=self.ctx.endpoint_url,
            venv_cache=self.ctx.settings.venvs_dir,
            use_namespace=isolation.namespace_supported(),
        )
        return TrainingRun(self.ctx, job, plans, image, self.report, adopt=adopt)

    def _wait(self, job: Resource, in_use: int) -> None:
        if job.secondary_status == S.STARTING:
            quota = self.ctx.settings.instance_quota
            self._transition(
                job,
                S.PENDING,
                (f"Waiting for instances: {in_use} of the {quota} allowed are in use"),
            )

    def _finish_unstarted(self, job: Resource) -> None:
        self._transition(
            job, S.STOPPED, "Training job stopped before it started", training_end=None
        )

    def _fail(self, job: Resource, reason: str) -> None:
        self._transition(
            job, S.FAILED, f"Training job failed. Reason: {reason}", failure_reason=reason
        )

    # --- what runs report ------------------------------------------------------------------

    def report(self, job: Resource, to: S, message: str, facts: dict[str, Any]) -> Resource | None:
        """A run's step. While the job is stopping, progress is recorded but not shown, and a
        run that completes anyway ends the job Stopped, as SageMaker reports it."""
        for _ in range(5):
            current = self.ctx.store.get_id(job.id)
            target = to
            if current.secondary_status == S.STOPPING:
                if to in (*_IN_FLIGHT, S.STOPPING):
                    return self.ctx.store.change(job.id, now=self.ctx.clock(), facts=facts)
                if to is S.COMPLETED:
                    target = S.STOPPED
            if current.secondary_status == target:
                return self.ctx.store.change(job.id, now=self.ctx.clock(), facts=facts)
            moved = self._transition(current, target, message, **facts)
            if moved is not None:
                self.wake()  # instances were freed or a step finished: admit the next job
                for listener in self.listeners:
                    listener()
                return moved
        return None

    def _transition(self, job: Resource, to: S, message: str, **facts: Any) -> Resource | None:
        try:
            return transition(
                self.ctx.store, LIFECYCLE, job, to, message, now=self.ctx.clock(), facts=facts
            )
        except IllegalTransition:
            log.warning(
                "ignored illegal transition of %s: %s -> %s", job.name, job.secondary_status, to
            )
            return None


def job_image(ctx: TrainingContext, spec: Any) -> ImageRuntime:
    return resolve_training_image(
        spec["AlgorithmSpecification"],
        ctx.settings.images_dir,
        hyperparameters=spec.get("HyperParameters") or {},
        environment=spec.get("Environment") or {},
    )


def _instance_count(job: Resource) -> int:
    return int(job.spec.get("ResourceConfig", {}).get("InstanceCount", 1))
