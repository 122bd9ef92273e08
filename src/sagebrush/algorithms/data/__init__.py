"""Training data as Amazon's algorithms read it: channels, content types, matrices.

``load_channel(instance, name, ...)`` reads a whole channel — the files of a File or
FastFile channel, or epoch 0 of a Pipe channel's FIFO — in the content type the channel
declares (``text/csv`` label first without a header, with ``label_size``;
``text/libsvm``; ``application/x-parquet``; ``application/x-recordio-protobuf``) and
returns features and labels as arrays.
"""

from __future__ import annotations

from sagebrush.algorithms.data._dataset import Dataset
from sagebrush.algorithms.data.content_types import (
    CSV,
    JSON,
    JSONLINES,
    LIBSVM,
    PARQUET,
    RECORDIO_PROTOBUF,
    ContentType,
    parse_content_type,
)
from sagebrush.algorithms.data.loading import (
    load_channel,
    load_unlabelled,
    parse_sources,
    parse_table,
)

__all__ = [
    "CSV",
    "JSON",
    "JSONLINES",
    "LIBSVM",
    "PARQUET",
    "RECORDIO_PROTOBUF",
    "ContentType",
    "Dataset",
    "load_channel",
    "load_unlabelled",
    "parse_content_type",
    "parse_sources",
    "parse_table",
]
