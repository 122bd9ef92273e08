"""Asking a training job to stop: StopTrainingJob, and a tuning job stopping its children."""

from __future__ import annotations

from collections.abc import Callable

from sagebrush.jobs.lifecycle import IllegalTransition, transition
from sagebrush.jobs.training.status import LIFECYCLE
from sagebrush.jobs.training.status import SecondaryStatus as S
from sagebrush.state.resources import Resource, ResourceStore


class StopConflict(Exception):
    """The job kept changing under the stop request."""


def request_stop(
    store: ResourceStore, job: Resource, clock: Callable[[], float], message: str
) -> tuple[bool, Resource]:
    """Move the job to Stopping with its stop requested (the training controller then stops
    its instances). Returns (True, job) once it is stopping — now or already — and
    (False, job) when it had already ended."""
    for _ in range(5):
        current = store.get_id(job.id)
        if current.secondary_status == S.STOPPING:
            return True, current
        if LIFECYCLE.is_final(current.secondary_status):
            return False, current
        try:
            moved = transition(
                store, LIFECYCLE, current, S.STOPPING, message, now=clock(), stop_requested=True
            )
        except IllegalTransition:
            moved = None
        if moved is not None:
            return True, moved
    raise StopConflict(f"Training job {job.name} changed while being stopped; try again.")
