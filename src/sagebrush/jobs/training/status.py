"""Training job statuses, with SageMaker's values, and the moves allowed between them.

``TrainingJobStatus`` follows from ``SecondaryStatus``. A stopping job keeps reporting
``InProgress`` (secondary ``Stopping``) until it has really stopped: the sagemaker SDK's
wait loop treats only ``InProgress``/``Created`` as running, so a primary ``Stopping``
would end ``fit()`` while the job still uploads its model.
"""

from __future__ import annotations

from enum import StrEnum

from sagebrush.jobs.lifecycle import Lifecycle

KIND = "TrainingJob"


class TrainingJobStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class SecondaryStatus(StrEnum):
    STARTING = "Starting"
    PENDING = "Pending"
    DOWNLOADING = "Downloading"
    TRAINING = "Training"
    UPLOADING = "Uploading"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"
    MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"
    MAX_WAIT_TIME_EXCEEDED = "MaxWaitTimeExceeded"


S = SecondaryStatus
_END = frozenset[str]()
_STOPPABLE = {S.STOPPING, S.FAILED}

LIFECYCLE = Lifecycle(
    kind=KIND,
    allowed={
        S.STARTING: frozenset({S.PENDING, S.DOWNLOADING, S.TRAINING, *_STOPPABLE}),
        S.PENDING: frozenset({S.STARTING, *_STOPPABLE}),
        S.DOWNLOADING: frozenset({S.TRAINING, *_STOPPABLE}),
        S.TRAINING: frozenset({S.UPLOADING, *_STOPPABLE}),
        S.UPLOADING: frozenset({S.COMPLETED, *_STOPPABLE}),
        S.STOPPING: frozenset(
            {S.STOPPED, S.MAX_RUNTIME_EXCEEDED, S.MAX_WAIT_TIME_EXCEEDED, S.FAILED}
        ),
        S.COMPLETED: _END,
        S.FAILED: _END,
        S.STOPPED: _END,
        S.MAX_RUNTIME_EXCEEDED: _END,
        S.MAX_WAIT_TIME_EXCEEDED: _END,
    },
    primary={
        **{
            s: TrainingJobStatus.IN_PROGRESS
            for s in (S.STARTING, S.PENDING, S.DOWNLOADING, S.TRAINING, S.UPLOADING, S.STOPPING)
        },
        S.COMPLETED: TrainingJobStatus.COMPLETED,
        S.FAILED: TrainingJobStatus.FAILED,
        S.STOPPED: TrainingJobStatus.STOPPED,
        S.MAX_RUNTIME_EXCEEDED: TrainingJobStatus.STOPPED,
        S.MAX_WAIT_TIME_EXCEEDED: TrainingJobStatus.STOPPED,
    },
)

TERMINAL = frozenset(
    {TrainingJobStatus.COMPLETED, TrainingJobStatus.FAILED, TrainingJobStatus.STOPPED}
)
