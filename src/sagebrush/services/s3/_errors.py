"""The one place where object-store errors become S3 wire errors."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from sagebrush.aws.errors import AwsError
from sagebrush.storage import MAX_KEY_BYTES
from sagebrush.storage import errors as e

T = TypeVar("T")


def to_aws(error: e.StorageError) -> AwsError:
    match error:
        case e.NoSuchBucket():
            return AwsError(error.code, error.message, 404, fields={"BucketName": error.bucket})
        case e.NoSuchKey():
            return AwsError(error.code, error.message, 404, fields={"Key": error.key})
        case e.NoSuchUpload():
            return AwsError(error.code, error.message, 404, fields={"UploadId": error.upload_id})
        case e.BucketNotEmpty() | e.BucketAlreadyExists() | e.BucketAlreadyOwnedByYou():
            return AwsError(error.code, error.message, 409, fields={"BucketName": error.bucket})
        case e.InvalidPart():
            fields = {"PartNumber": error.part_number, "ETag": error.etag}
            return AwsError(error.code, error.message, 400, fields=fields)
        case e.EntityTooSmall():
            fields = {"ProposedSize": error.size, "MinSizeAllowed": error.min_size}
            return AwsError(error.code, error.message, 400, fields=fields)
        case e.InvalidRange():
            return AwsError(
                error.code,
                error.message,
                416,
                fields={"ActualObjectSize": error.size},
                headers={"Content-Range": f"bytes */{error.size}"},
            )
        case e.BadDigest() if error.algorithm == "MD5":
            return AwsError(
                error.code,
                "The Content-MD5 you specified did not match what we received.",
                400,
                fields={"ExpectedDigest": error.expected, "CalculatedDigest": error.actual},
            )
        case e.BadDigest():
            return AwsError(
                error.code,
                f"The {error.algorithm} you specified did not match the calculated checksum.",
                400,
            )
        case e.InvalidChecksum():
            return AwsError(
                "InvalidRequest",
                f"Value for x-amz-checksum-{error.algorithm.lower()} header is invalid.",
                400,
            )
        case e.PreconditionFailed():
            return AwsError(error.code, error.message, 412, fields={"Condition": error.condition})
        case e.KeyTooLongError():
            fields = {"MaxSizeAllowed": MAX_KEY_BYTES, "Size": error.size}
            return AwsError(error.code, error.message, 400, fields=fields)
        case e.IncompleteBody():
            return AwsError(error.code, error.message, 400)
    return AwsError(error.code, error.message, 400)


def _wrap(method: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except e.StorageError as error:
                raise to_aws(error) from error

        return run_async

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except e.StorageError as error:
            raise to_aws(error) from error

    return run


def translating(cls: type[T]) -> type[T]:
    """Wrap every public method of a provider class so storage errors leave as AwsError."""
    for name in dir(cls):
        attr = inspect.getattr_static(cls, name)
        if not name.startswith("_") and inspect.isfunction(attr):
            setattr(cls, name, _wrap(attr))
    return cls
