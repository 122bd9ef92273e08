"""Domain errors of the object store, named like S3's error codes.

They carry what happened in domain terms (which bucket, key or upload); the S3 provider maps
them to wire errors in one place.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class. ``code`` is the class name, which is also S3's error code."""

    def __init__(self, message: str = "", **details: str) -> None:
        super().__init__(message or type(self).__name__)
        self.message = message
        self.details = details

    @property
    def code(self) -> str:
        return type(self).__name__


class NoSuchBucket(StorageError):
    def __init__(self, bucket: str) -> None:
        super().__init__("The specified bucket does not exist", bucket=bucket)
        self.bucket = bucket


class NoSuchKey(StorageError):
    def __init__(self, bucket: str, key: str) -> None:
        super().__init__("The specified key does not exist.", bucket=bucket, key=key)
        self.bucket = bucket
        self.key = key


class BucketNotEmpty(StorageError):
    def __init__(self, bucket: str) -> None:
        super().__init__("The bucket you tried to delete is not empty", bucket=bucket)
        self.bucket = bucket


class BucketAlreadyOwnedByYou(StorageError):
    def __init__(self, bucket: str, region: str) -> None:
        super().__init__(
            "Your previous request to create the named bucket succeeded and you already own it.",
            bucket=bucket,
        )
        self.bucket = bucket
        self.region = region


class BucketAlreadyExists(StorageError):
    def __init__(self, bucket: str) -> None:
        super().__init__(
            "The requested bucket name is not available. The bucket namespace is shared by all "
            "users of the system. Please select a different name and try again.",
            bucket=bucket,
        )
        self.bucket = bucket


class NoSuchUpload(StorageError):
    def __init__(self, upload_id: str) -> None:
        super().__init__(
            "The specified upload does not exist. The upload ID may be invalid, or the upload "
            "may have been aborted or completed.",
            upload_id=upload_id,
        )
        self.upload_id = upload_id


class InvalidPart(StorageError):
    def __init__(self, part_number: int, etag: str = "") -> None:
        super().__init__(
            "One or more of the specified parts could not be found. The part may not have been "
            "uploaded, or the specified entity tag may not match the part's entity tag.",
            part_number=str(part_number),
            etag=etag,
        )
        self.part_number = part_number
        self.etag = etag


class InvalidPartOrder(StorageError):
    def __init__(self) -> None:
        super().__init__(
            "The list of parts was not in ascending order. Parts must be ordered by part number."
        )


class EntityTooSmall(StorageError):
    def __init__(self, part_number: int, size: int, min_size: int) -> None:
        super().__init__(
            "Your proposed upload is smaller than the minimum allowed size",
            part_number=str(part_number),
            size=str(size),
            min_size=str(min_size),
        )
        self.part_number = part_number
        self.size = size
        self.min_size = min_size


class InvalidRange(StorageError):
    def __init__(self, size: int) -> None:
        super().__init__("The requested range is not satisfiable", size=str(size))
        self.size = size


class BadDigest(StorageError):
    """A digest the client sent does not match the bytes received.

    ``algorithm`` is ``"MD5"`` for Content-MD5, else the checksum algorithm (``"CRC32"``...).
    """

    def __init__(self, algorithm: str, expected: str = "", actual: str = "") -> None:
        what = "Content-MD5" if algorithm == "MD5" else algorithm
        super().__init__(
            f"The {what} you specified did not match the calculated checksum.",
            algorithm=algorithm,
            expected=expected,
            actual=actual,
        )
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


class IncompleteBody(StorageError):
    def __init__(self, expected: int, received: int) -> None:
        super().__init__(
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
            expected=str(expected),
            received=str(received),
        )
        self.expected = expected
        self.received = received


class InvalidChecksum(StorageError):
    """A checksum the client sent is not a well-formed value for its algorithm."""

    def __init__(self, algorithm: str) -> None:
        super().__init__(f"The {algorithm} checksum value is malformed.", algorithm=algorithm)
        self.algorithm = algorithm


class PreconditionFailed(StorageError):
    def __init__(self, condition: str) -> None:
        super().__init__(
            "At least one of the pre-conditions you specified did not hold", condition=condition
        )
        self.condition = condition


class KeyTooLongError(StorageError):
    def __init__(self, size: int) -> None:
        super().__init__("Your key is too long", size=str(size))
        self.size = size
