"""The transform controller: starts runs for new jobs, passes stop requests, records ends.

A thread reconciles every 0.5 s and when an API call wakes it. A job InProgress with no run
in this process gets one — unless it had started under an earlier server, whose instances
died with it (a transform job's state is its in-flight requests): that job fails saying
so. A job asked to stop has its run told; one that never started is Stopped at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sagebrush.jobs.lifecycle import transition_latest
from sagebrush.jobs.reconcile import ReconcileLoop
from sagebrush.jobs.transform.context import TransformContext
from sagebrush.jobs.transform.run import Outcome, TransformRun
from sagebrush.jobs.transform.status import KIND, LIFECYCLE, TERMINAL
from sagebrush.jobs.transform.status import TransformJobStatus as T
from sagebrush.state.resources import Resource

log = logging.getLogger(__name__)


class TransformController(ReconcileLoop):
    def __init__(self, ctx: TransformContext, *, interval: float = 0.5) -> None:
        super().__init__("transform-controller", interval)
        self.ctx = ctx
        self.runs: dict[int, TransformRun] = {}
        self._lock = threading.Lock()

    def live_counts(self) -> list[tuple[str, int, int]]:
        """``(job, instances, model-server processes)`` of the runs whose instances are up."""
        with self._lock:
            runs = list(self.runs.values())
        live = [(run.job.name, list(run.instances)) for run in runs if not run.stopped]
        return [(n, len(i), sum(len(x.processes) for x in i)) for n, i in live if i]

    def instance_pids(self) -> list[tuple[str, list[int]]]:
        """``(job, pids of its model servers alive now)`` for ``sagebrush status``."""
        with self._lock:
            runs = list(self.runs.values())
        alive = self.ctx.launcher.alive
        found = [
            (run.job.name, [p.handle for i in run.instances for p in i.processes]) for run in runs
        ]
        live = [(name, [h.pid for h in handles if alive(h)]) for name, handles in found]
        return [(name, pids) for name, pids in live if pids]

    def close(self, timeout: float = 10.0) -> None:
        """Stop every run (their instances with them) and the loop."""
        self._closing.set()
        for run in list(self.runs.values()):
            run.request_stop()
        for run in list(self.runs.values()):
            run.join(timeout)
        self._stop_loop(timeout)

    def reconcile_once(self) -> None:
        for job in self.ctx.store.unfinished(KIND, TERMINAL):
            with self._lock:
                run = self.runs.get(job.id)
            if run is not None:
                if job.stop_requested:
                    run.request_stop()
                continue
            if job.status == T.STOPPING or job.stop_requested:
                self._end(job, Outcome("Stopped"))
            elif job.facts.get("started"):
                self._end(
                    job,
                    Outcome(
                        "Failed",
                        "InternalServerError: the server restarted while the job ran; "
                        "create the job again.",
                    ),
                )
            elif not self._closing.is_set():
                self._start(job)

    def _start(self, job: Resource) -> None:
        started = self.ctx.store.change(
            job.id, expect_status=[T.IN_PROGRESS], now=self.ctx.clock(), facts={"started": True}
        )
        if started is None:
            return
        run = TransformRun(self.ctx, started, self._finished)
        with self._lock:
            self.runs[job.id] = run
        run.start()

    def _finished(self, job: Resource, outcome: Outcome) -> None:
        self._end(job, outcome)
        with self._lock:
            self.runs.pop(job.id, None)
        self._wake.set()

    def _end(self, job: Resource, outcome: Outcome) -> None:
        to = {"Completed": T.COMPLETED, "Failed": T.FAILED, "Stopped": T.STOPPED}[outcome.status]
        facts: dict[str, Any] = dict(outcome.facts or {})
        if outcome.reason:
            facts["failure_reason"] = outcome.reason
        transition_latest(
            self.ctx.store,
            LIFECYCLE,
            job.id,
            to,
            outcome.reason,
            clock=self.ctx.clock,
            facts=facts,
            skip=lambda current: current.status in TERMINAL,
        )
