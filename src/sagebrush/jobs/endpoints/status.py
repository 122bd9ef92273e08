"""Endpoint statuses as SageMaker reports them, and which may follow which.

An endpoint has one status (``EndpointStatus``); it is stored as both the primary and the
secondary status so the shared :func:`~sagebrush.jobs.lifecycle.transition` applies. A
failed update returns to ``InService`` on the old fleet with ``FailureReason`` set, as
SageMaker does; ``Deleting`` ends with the record removed.
"""

from __future__ import annotations

from enum import StrEnum

from sagebrush.jobs.lifecycle import Lifecycle

KIND = "endpoint"


class EndpointStatus(StrEnum):
    OUT_OF_SERVICE = "OutOfService"
    CREATING = "Creating"
    UPDATING = "Updating"
    SYSTEM_UPDATING = "SystemUpdating"
    ROLLING_BACK = "RollingBack"
    IN_SERVICE = "InService"
    DELETING = "Deleting"
    FAILED = "Failed"
    UPDATE_ROLLBACK_FAILED = "UpdateRollbackFailed"


E = EndpointStatus

_ALLOWED: dict[str, frozenset[str]] = {
    E.CREATING: frozenset({E.IN_SERVICE, E.FAILED, E.DELETING}),
    E.IN_SERVICE: frozenset({E.UPDATING, E.DELETING, E.SYSTEM_UPDATING}),
    # A restarted server brings its fleets back under SystemUpdating.
    E.SYSTEM_UPDATING: frozenset({E.IN_SERVICE, E.DELETING, E.FAILED}),
    E.UPDATING: frozenset({E.IN_SERVICE, E.DELETING, E.ROLLING_BACK}),
    E.ROLLING_BACK: frozenset({E.IN_SERVICE, E.DELETING, E.UPDATE_ROLLBACK_FAILED}),
    E.UPDATE_ROLLBACK_FAILED: frozenset({E.DELETING}),
    E.FAILED: frozenset({E.DELETING}),
    E.OUT_OF_SERVICE: frozenset({E.DELETING, E.IN_SERVICE}),
    E.DELETING: frozenset(),
}

LIFECYCLE = Lifecycle(KIND, _ALLOWED, {s.value: s.value for s in EndpointStatus})

# Statuses in which the endpoint takes traffic.
SERVING = frozenset({E.IN_SERVICE, E.UPDATING, E.SYSTEM_UPDATING, E.ROLLING_BACK})
# Statuses in which UpdateEndpoint and UpdateEndpointWeightsAndCapacities are refused.
BUSY = frozenset({E.CREATING, E.UPDATING, E.SYSTEM_UPDATING, E.ROLLING_BACK, E.DELETING})
