"""Object storage: the ``ObjectStore`` interface and its filesystem implementation.

Knows nothing about HTTP or AWS wire formats; the S3 provider translates.
"""

from __future__ import annotations

from sagebrush.storage import errors
from sagebrush.storage.base import (
    MAX_KEY_BYTES,
    MAX_PART_NUMBER,
    MIN_PART_SIZE,
    BucketInfo,
    CompletedPart,
    Integrity,
    ObjectInfo,
    ObjectListing,
    ObjectMeta,
    ObjectReader,
    ObjectStore,
    ObjectSummary,
    PartInfo,
    PartListing,
    Precondition,
    UploadInfo,
    UploadListing,
    Usage,
)
from sagebrush.storage.filesystem import FilesystemObjectStore

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_PART_NUMBER",
    "MIN_PART_SIZE",
    "BucketInfo",
    "CompletedPart",
    "FilesystemObjectStore",
    "Integrity",
    "ObjectInfo",
    "ObjectListing",
    "ObjectMeta",
    "ObjectReader",
    "ObjectStore",
    "ObjectSummary",
    "PartInfo",
    "PartListing",
    "Precondition",
    "UploadInfo",
    "UploadListing",
    "Usage",
    "errors",
]
