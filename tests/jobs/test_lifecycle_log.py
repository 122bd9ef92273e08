"""Every status change of a job or endpoint is a line in the server log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebrush.jobs.endpoints.status import LIFECYCLE as ENDPOINT
from sagebrush.jobs.lifecycle import log_created, transition
from sagebrush.jobs.training.status import KIND, LIFECYCLE
from sagebrush.state.db import Database
from sagebrush.state.resources import Resource, ResourceStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ResourceStore]:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    db.migrate()
    yield ResourceStore(db)
    db.dispose()


def _create(store: ResourceStore, kind: str, status: str, secondary: str) -> Resource:
    return store.create(
        kind=kind,
        account_id="000000000000",
        region="us-east-1",
        name="job-1",
        arn=f"arn:{kind}",
        spec={},
        status=status,
        secondary_status=secondary,
        message="",
        now=1.0,
    )


def test_training_job_changes_are_logged(
    store: ResourceStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sagebrush.jobs.lifecycle")
    job = _create(store, KIND, "InProgress", "Starting")
    log_created(job)
    moved = transition(store, LIFECYCLE, job, "Downloading", "Downloading input data", now=2.0)
    assert moved is not None
    failed = transition(
        store,
        LIFECYCLE,
        moved,
        "Failed",
        "Training job failed. Reason: ClientError: bad",
        now=3.0,
        facts={"failure_reason": "ClientError: bad"},
    )
    assert failed is not None
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "training job job-1: created InProgress/Starting"),
        (
            logging.INFO,
            "training job job-1: InProgress/Starting -> InProgress/Downloading "
            "(Downloading input data)",
        ),
        (
            logging.WARNING,
            "training job job-1: InProgress/Downloading -> Failed "
            "(Training job failed. Reason: ClientError: bad)",
        ),
    ]


def test_a_failure_reason_not_in_the_message_is_added(
    store: ResourceStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sagebrush.jobs.lifecycle")
    endpoint = _create(store, ENDPOINT.kind, "Updating", "Updating")
    transition(
        store, ENDPOINT, endpoint, "InService", "", now=2.0, facts={"failure_reason": "no ping"}
    )
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "endpoint job-1: Updating -> InService; FailureReason: no ping"


def test_a_lost_race_logs_nothing(store: ResourceStore, caplog: pytest.LogCaptureFixture) -> None:
    job = _create(store, KIND, "InProgress", "Starting")
    assert transition(store, LIFECYCLE, job, "Downloading", "", now=2.0) is not None
    caplog.set_level(logging.INFO, logger="sagebrush.jobs.lifecycle")
    assert transition(store, LIFECYCLE, job, "Downloading", "", now=3.0) is None  # stale read
    assert caplog.records == []


def test_models_are_not_logged(store: ResourceStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sagebrush.jobs.lifecycle")
    log_created(_create(store, "model", "Created", "Created"))
    assert caplog.records == []
