"""The S3 provider: thin glue between S3's operations and the object store.

Each operation group lives in its own module; storage errors become S3 errors in one place
(``_errors.translating``).
"""

from __future__ import annotations

from sagebrush.services.s3._errors import translating
from sagebrush.services.s3.buckets import BucketOperations
from sagebrush.services.s3.listing import ListingOperations
from sagebrush.services.s3.multipart import MultipartOperations
from sagebrush.services.s3.objects import ObjectOperations


@translating
class S3Provider(BucketOperations, ObjectOperations, ListingOperations, MultipartOperations):
    service = "s3"
