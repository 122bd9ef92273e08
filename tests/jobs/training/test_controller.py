"""The training controller, one reconcile step at a time, with a fake clock and fake runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagebrush.compute import LocalLauncher
from sagebrush.config import Settings
from sagebrush.jobs.lifecycle import IllegalTransition, transition
from sagebrush.jobs.training.context import TrainingContext
from sagebrush.jobs.training.controller import TrainingController
from sagebrush.jobs.training.status import KIND, LIFECYCLE
from sagebrush.jobs.training.status import SecondaryStatus as S
from sagebrush.state import Database
from sagebrush.state.logs import LogStore
from sagebrush.state.metrics import MetricStore
from sagebrush.state.resources import Resource, ResourceStore
from sagebrush.storage import FilesystemObjectStore


class FakeRun:
    def __init__(self, job: Resource) -> None:
        self.job = job
        self.instance_count = int(job.spec["ResourceConfig"]["InstanceCount"])
        self.done = threading.Event()
        self.started = False
        self.stop_requested = False

    def start(self) -> None:
        self.started = True

    def request_stop(self) -> None:
        self.stop_requested = True


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def controller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TrainingController]:
    db = Database(f"sqlite:///{tmp_path / 'db'}")
    db.migrate()
    clock = Clock()
    ctx = TrainingContext(
        settings=Settings(home=tmp_path, instance_quota=3),
        store=ResourceStore(db),
        objects=FilesystemObjectStore(tmp_path / "objects", db),
        logs=LogStore(db),
        metrics=MetricStore(db),
        launcher=LocalLauncher(),
        clock=clock,
        endpoint_url="http://127.0.0.1:1",
    )
    ctl = TrainingController(ctx)

    def fake_run(job: Resource, *, adopt: bool) -> Any:
        run = FakeRun(job)
        run.adopted = adopt  # type: ignore[attr-defined]
        return run

    monkeypatch.setattr(ctl, "_run_for", fake_run)
    yield ctl
    db.dispose()


def _create(ctl: TrainingController, name: str, instances: int) -> Resource:
    ctl.ctx.clock.now += 1  # type: ignore[attr-defined]
    return ctl.ctx.store.create(
        kind=KIND,
        account_id="000000000000",
        region="us-east-1",
        name=name,
        arn=f"arn:{name}",
        spec={"ResourceConfig": {"InstanceCount": instances}},
        status="InProgress",
        secondary_status=S.STARTING,
        message="",
        now=ctl.ctx.clock(),
    )


def _status(ctl: TrainingController, name: str) -> str | None:
    return ctl.ctx.store.get(KIND, "000000000000", "us-east-1", name).secondary_status


def test_admission_is_in_creation_order_under_the_quota(controller: TrainingController) -> None:
    for name, count in (("a", 2), ("b", 2), ("c", 1)):
        _create(controller, name, count)
    controller.reconcile_once()
    # a fits (2 of 3); b does not; c would fit but must not overtake b.
    assert [r.job.name for r in controller.runs.values()] == ["a"]
    assert (_status(controller, "b"), _status(controller, "c")) == (S.PENDING, S.PENDING)
    controller.reconcile_once()  # idempotent: nothing changes while a runs
    assert len(controller.runs) == 1
    first = next(iter(controller.runs.values()))
    for to in (S.DOWNLOADING, S.TRAINING, S.UPLOADING, S.COMPLETED):
        controller.report(controller.ctx.store.get_id(first.job.id), to, "", {})
    first.done.set()  # type: ignore[attr-defined]
    controller.reconcile_once()
    assert sorted(r.job.name for r in controller.runs.values()) == ["b", "c"]
    assert _status(controller, "b") == S.STARTING
    events = controller.ctx.store.events(
        controller.ctx.store.get(KIND, "000000000000", "us-east-1", "b").id
    )
    assert [e.secondary_status for e in events] == [S.STARTING, S.PENDING, S.STARTING]


def test_stop_requests_reach_runs_and_unstarted_jobs_end_stopped(
    controller: TrainingController,
) -> None:
    running = _create(controller, "running", 3)
    waiting = _create(controller, "waiting", 1)
    controller.reconcile_once()
    for job in (running, waiting):
        current = controller.ctx.store.get_id(job.id)
        transition(
            controller.ctx.store,
            LIFECYCLE,
            current,
            S.STOPPING,
            "stop",
            now=controller.ctx.clock(),
            stop_requested=True,
        )
    controller.reconcile_once()
    assert controller.runs[running.id].stop_requested  # type: ignore[attr-defined]
    assert _status(controller, "waiting") == S.STOPPED


def test_a_job_the_previous_server_was_preparing_fails_with_a_reason(
    controller: TrainingController,
) -> None:
    job = _create(controller, "orphan", 1)
    transition(controller.ctx.store, LIFECYCLE, job, S.DOWNLOADING, "x", now=controller.ctx.clock())
    controller.reconcile_once()
    failed = controller.ctx.store.get_id(job.id)
    assert (failed.status, failed.secondary_status) == ("Failed", S.FAILED)
    assert "server stopped while the job was being prepared" in failed.facts["failure_reason"]


def test_launched_jobs_are_adopted(controller: TrainingController) -> None:
    job = _create(controller, "adoptee", 1)
    job = transition(
        controller.ctx.store,
        LIFECYCLE,
        job,
        S.TRAINING,
        "x",
        now=controller.ctx.clock(),
        facts={"launched": True},
    )
    controller.reconcile_once()
    assert controller.runs[job.id].adopted  # type: ignore[union-attr, attr-defined]


def test_the_table_refuses_illegal_moves(controller: TrainingController) -> None:
    job = _create(controller, "t", 1)
    with pytest.raises(IllegalTransition):
        transition(
            controller.ctx.store, LIFECYCLE, job, S.COMPLETED, "no", now=controller.ctx.clock()
        )
    # A writer holding a stale view loses the compare-and-set instead of overwriting.
    moved = transition(
        controller.ctx.store, LIFECYCLE, job, S.DOWNLOADING, "x", now=controller.ctx.clock()
    )
    assert moved is not None
    assert (
        transition(
            controller.ctx.store, LIFECYCLE, job, S.FAILED, "stale", now=controller.ctx.clock()
        )
        is None
    )
