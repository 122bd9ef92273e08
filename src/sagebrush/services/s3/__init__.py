"""S3: buckets, objects, listings and multipart uploads over the object store."""

from __future__ import annotations

from sagebrush.services.s3.provider import S3Provider

PROVIDER = S3Provider

__all__ = ["PROVIDER", "S3Provider"]
