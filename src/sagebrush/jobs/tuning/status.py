"""Tuning job statuses, SageMaker's values, and the moves allowed between them.

A tuning job has one status; it is stored as both the primary and the secondary status so
the shared :func:`~sagebrush.jobs.lifecycle.transition` applies.
"""

from __future__ import annotations

from enum import StrEnum

from sagebrush.jobs.lifecycle import Lifecycle

KIND = "HyperParameterTuningJob"


class TuningJobStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


T = TuningJobStatus
_END = frozenset[str]()

LIFECYCLE = Lifecycle(
    KIND,
    {
        T.IN_PROGRESS: frozenset({T.COMPLETED, T.FAILED, T.STOPPING}),
        T.STOPPING: frozenset({T.STOPPED, T.FAILED}),
        T.COMPLETED: _END,
        T.FAILED: _END,
        T.STOPPED: _END,
    },
    {s.value: s.value for s in TuningJobStatus},
)
TERMINAL = frozenset({T.COMPLETED, T.FAILED, T.STOPPED})
