"""Statuses, the transitions allowed between them, and the one function that changes them.

A resource kind's :class:`Lifecycle` names its statuses with SageMaker's own values and
lists which status may follow which. :func:`transition` checks that table, stamps the time,
persists and appends an event; nothing else assigns a status. It also writes the server
log's line for every change (INFO; WARNING with the FailureReason when one is recorded).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sagebrush.state.resources import Resource, ResourceMissing, ResourceStore

log = logging.getLogger(__name__)


# Resource kinds as the server log names them; other kinds (models, endpoint
# configurations) have no lifecycle worth a line.
_LOG_NAMES = {
    "TrainingJob": "training job",
    "TransformJob": "transform job",
    "HyperParameterTuningJob": "tuning job",
    "endpoint": "endpoint",
}


class IllegalTransition(Exception):
    pass


def log_created(resource: Resource) -> None:
    """The server log's line for a new job or endpoint."""
    name = _LOG_NAMES.get(resource.kind)
    if name is not None:
        log.info("%s %s: created %s", name, resource.name, _status(resource))


def _status(resource: Resource) -> str:
    secondary = resource.secondary_status
    if secondary is None or secondary == resource.status:
        return resource.status
    return f"{resource.status}/{secondary}"


def _log_change(
    lifecycle: Lifecycle, before: Resource, after: Resource, facts: Mapping[str, Any] | None
) -> None:
    name = _LOG_NAMES.get(lifecycle.kind, lifecycle.kind)
    line = f"{name} {after.name}: {_status(before)} -> {_status(after)}"
    if after.status_message:
        line += f" ({after.status_message})"
    # A FailureReason recorded with this change: a failed job or endpoint, or an update
    # that failed and left the endpoint in service on its old fleet.
    reason = str((facts or {}).get("failure_reason") or "")
    if reason and reason not in after.status_message:
        line += f"; FailureReason: {reason}"
    if reason or after.status == "Failed":
        log.warning("%s", line)
    else:
        log.info("%s", line)


@dataclass(frozen=True)
class Lifecycle:
    kind: str
    # secondary status -> the secondary statuses that may follow it
    allowed: Mapping[str, frozenset[str]]
    # secondary status -> the primary status reported with it
    primary: Mapping[str, str]

    @property
    def terminal_primary(self) -> frozenset[str]:
        finals = {s for s, nxt in self.allowed.items() if not nxt}
        return frozenset(self.primary[s] for s in finals)

    def is_final(self, secondary: str | None) -> bool:
        return secondary is not None and not self.allowed.get(secondary)


def transition(
    store: ResourceStore,
    lifecycle: Lifecycle,
    resource: Resource,
    to: str,
    message: str,
    *,
    now: float,
    facts: Mapping[str, Any] | None = None,
    stop_requested: bool | None = None,
) -> Resource | None:
    """Move ``resource`` to secondary status ``to``.

    Returns the updated record, or None when the resource has moved on since it was read
    (another writer won: re-read and decide again). Raises :class:`IllegalTransition` when
    the table forbids the move from the status that was read.
    """
    current = resource.secondary_status
    if current is None or to not in lifecycle.allowed.get(current, frozenset()):
        raise IllegalTransition(f"{lifecycle.kind} {resource.name}: {current} -> {to}")
    final = lifecycle.is_final(to)
    moved = store.change(
        resource.id,
        expect_secondary=[current],
        now=now,
        status=lifecycle.primary[to],
        secondary_status=to,
        message=message,
        facts=facts,
        stop_requested=stop_requested,
        ended=now if final else None,
        event=True,
    )
    if moved is not None:
        _log_change(lifecycle, resource, moved, facts)
    return moved


def transition_latest(
    store: ResourceStore,
    lifecycle: Lifecycle,
    resource_id: int,
    to: str,
    message: str,
    *,
    clock: Callable[[], float],
    facts: Mapping[str, Any] | None = None,
    skip: Callable[[Resource], bool] = lambda _: False,
    attempts: int = 20,
) -> Resource | None:
    """Move the resource as it stands now, re-reading it while other writers win.

    None when it is gone, when ``skip`` says to leave it as it is, when its lifecycle
    forbids the move from its current status (logged), or when it never settles.
    """
    for _ in range(attempts):
        try:
            current = store.get_id(resource_id)
        except ResourceMissing:
            return None
        if skip(current):
            return None
        try:
            moved = transition(store, lifecycle, current, to, message, now=clock(), facts=facts)
        except IllegalTransition:
            log.warning(
                "%s %s: %s -> %s refused",
                lifecycle.kind,
                current.name,
                current.secondary_status,
                to,
            )
            return None
        if moved is not None:
            return moved
    return None
