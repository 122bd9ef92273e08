"""Moving a training job's data between the object store and an instance directory.

Everything here is synchronous and meant for a job's worker thread (never the server's
event loop): input channels (File, FastFile, Pipe), output tarballs and checkpoints.
"""

from __future__ import annotations

from sagebrush.jobs.training.data._items import (
    AugmentedRecord,
    ChannelError,
    ChannelItem,
    ChannelObject,
    ObjectRef,
)
from sagebrush.jobs.training.data.checkpoints import CheckpointSync
from sagebrush.jobs.training.data.inputs import (
    download,
    list_channel_items,
    resolve_channel_objects,
    select_for_host,
    shuffled,
    stage_file_channel,
)
from sagebrush.jobs.training.data.outputs import (
    model_artifact_uri,
    output_artifact_uri,
    upload_directory,
    upload_directory_files,
    upload_directory_tarball,
)
from sagebrush.jobs.training.data.pipes import PipeFeeder

__all__ = [
    "AugmentedRecord",
    "ChannelError",
    "ChannelItem",
    "ChannelObject",
    "CheckpointSync",
    "ObjectRef",
    "PipeFeeder",
    "download",
    "list_channel_items",
    "model_artifact_uri",
    "output_artifact_uri",
    "resolve_channel_objects",
    "select_for_host",
    "shuffled",
    "stage_file_channel",
    "upload_directory",
    "upload_directory_files",
    "upload_directory_tarball",
]
