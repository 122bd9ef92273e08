"""Transform job statuses, SageMaker's values, and the moves allowed between them.

A transform job has one status; it is stored as both the primary and the secondary status
so the shared :func:`~sagebrush.jobs.lifecycle.transition` applies.
"""

from __future__ import annotations

from enum import StrEnum

from sagebrush.jobs.lifecycle import Lifecycle

KIND = "TransformJob"


class TransformJobStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


T = TransformJobStatus
_END = frozenset[str]()

LIFECYCLE = Lifecycle(
    KIND,
    {
        T.IN_PROGRESS: frozenset({T.COMPLETED, T.FAILED, T.STOPPING}),
        # A job asked to stop may still finish (or fail) before it notices.
        T.STOPPING: frozenset({T.STOPPED, T.FAILED, T.COMPLETED}),
        T.COMPLETED: _END,
        T.FAILED: _END,
        T.STOPPED: _END,
    },
    {s.value: s.value for s in TransformJobStatus},
)
TERMINAL = frozenset({T.COMPLETED, T.FAILED, T.STOPPED})
