"""S3's HTTP-level conventions that the object store knows nothing about.

Ranges, conditional requests, ETag quoting, checksum members, bucket-name rules, copy
sources, continuation tokens and the ``encoding-type=url`` key encoding.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from sagebrush.aws.errors import AwsError
from sagebrush.storage import ObjectInfo, Precondition

# Checksum algorithm -> output member name.
CHECKSUM_MEMBERS = {
    "CRC32": "ChecksumCRC32",
    "CRC32C": "ChecksumCRC32C",
    "CRC64NVME": "ChecksumCRC64NVME",
    "SHA1": "ChecksumSHA1",
    "SHA256": "ChecksumSHA256",
    "SHA512": "ChecksumSHA512",
    "MD5": "ChecksumMD5",
}
DEFAULT_CONTENT_TYPE = "binary/octet-stream"


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


def checksum_members(checksums: Mapping[str, str]) -> dict[str, str]:
    return {CHECKSUM_MEMBERS[a]: v for a, v in checksums.items() if a in CHECKSUM_MEMBERS}


# Checksum input member (snake_case, as the dispatcher passes it) -> algorithm.
CHECKSUM_INPUTS = {
    "checksum_crc32": "CRC32",
    "checksum_crc32_c": "CRC32C",
    "checksum_crc64_nvme": "CRC64NVME",
    "checksum_sha1": "SHA1",
    "checksum_sha256": "SHA256",
    "checksum_sha512": "SHA512",
    "checksum_md5": "MD5",
}


def given_checksums(members: Mapping[str, Any]) -> dict[str, str]:
    """Checksum values a request carried, keyed by algorithm (``checksum_crc32_c`` -> CRC32C).

    ``members`` is the operation's input; only the ``CHECKSUM_INPUTS`` names are read, so
    the operations that take checksums pass their ``**members`` instead of seven parameters.
    """
    return {
        algorithm: members[name]
        for name, algorithm in CHECKSUM_INPUTS.items()
        if members.get(name) is not None
    }


def checksum_trailers(trailers: Mapping[str, str]) -> dict[str, str]:
    """Checksums sent as aws-chunked trailers (``x-amz-checksum-crc32: ...``)."""
    prefix = "x-amz-checksum-"
    return {
        name.lower()[len(prefix) :].upper(): value.strip()
        for name, value in trailers.items()
        if name.lower().startswith(prefix)
    }


def declared_trailer_algorithms(headers: Mapping[str, str]) -> set[str]:
    declared = headers.get("x-amz-trailer", "")
    return set(checksum_trailers({name.strip(): "" for name in declared.split(",") if name}))


def decode_content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
    return raw


# -- ranges ---------------------------------------------------------------------------------

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class ByteRange:
    start: int
    stop: int  # exclusive

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The satisfiable range of a ``Range`` header, None to send the whole object.

    Like S3: syntax it does not understand (several ranges, other units) is ignored; a range
    that starts past the end is ``InvalidRange``.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise invalid_range(header, size)
        return ByteRange(max(size - suffix, 0), size)
    start = int(first)
    stop = size if last == "" else int(last) + 1
    if last != "" and stop <= start:
        return None  # last < first: syntactically invalid, ignored
    if start >= size:
        raise invalid_range(header, size)
    return ByteRange(start, min(stop, size))


def part_range(info: ObjectInfo, part_number: int) -> ByteRange:
    sizes = info.part_sizes or (info.size,)
    if not 1 <= part_number <= len(sizes):
        raise AwsError(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            416,
            fields={"PartNumberRequested": part_number, "ActualPartCount": len(sizes)},
        )
    start = sum(sizes[: part_number - 1])
    return ByteRange(start, start + sizes[part_number - 1])


def invalid_range(header: str, size: int) -> AwsError:
    return AwsError(
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        fields={"RangeRequested": header, "ActualObjectSize": size},
        headers={"Content-Range": f"bytes */{size}"},
    )


# -- conditional requests -------------------------------------------------------------------


def precondition_failed(condition: str) -> AwsError:
    return AwsError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        412,
        fields={"Condition": condition},
    )


def etag_matches(header: str, etag: str) -> bool:
    for item in header.split(","):
        candidate = item.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == "*" or candidate.strip('"') == etag:
            return True
    return False


def _seconds(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return math.floor(value.timestamp())


def evaluate_conditions(
    info: ObjectInfo,
    *,
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: datetime | None,
    if_unmodified_since: datetime | None,
) -> bool:
    """RFC 7232 order, as S3 applies it. True: go on; False: answer 304; raises 412."""
    modified = _seconds(info.last_modified)
    if if_match is not None:
        if not etag_matches(if_match, info.etag):
            raise precondition_failed("If-Match")
    elif if_unmodified_since is not None and modified > _seconds(if_unmodified_since):
        raise precondition_failed("If-Unmodified-Since")
    if if_none_match is not None:
        return not etag_matches(if_none_match, info.etag)
    return not (if_modified_since is not None and modified <= _seconds(if_modified_since))


def check_copy_source(
    info: ObjectInfo,
    *,
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: datetime | None,
    if_unmodified_since: datetime | None,
) -> None:
    """CopyObject's ``x-amz-copy-source-if-*``: any failure is a 412."""
    modified = _seconds(info.last_modified)
    if if_match is not None and not etag_matches(if_match, info.etag):
        raise precondition_failed("x-amz-copy-source-If-Match")
    unmodified = if_unmodified_since
    if if_match is None and unmodified is not None and modified > _seconds(unmodified):
        raise precondition_failed("x-amz-copy-source-If-Unmodified-Since")
    if if_none_match is not None and etag_matches(if_none_match, info.etag):
        raise precondition_failed("x-amz-copy-source-If-None-Match")
    since = if_modified_since
    if if_none_match is None and since is not None and modified <= _seconds(since):
        raise precondition_failed("x-amz-copy-source-If-Modified-Since")


# -- names and sources ----------------------------------------------------------------------

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(name: str) -> None:
    """S3's general-purpose bucket naming rules."""
    valid = (
        _BUCKET.fullmatch(name) is not None
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and not name.startswith(_RESERVED_PREFIXES)
        and not name.endswith(_RESERVED_SUFFIXES)
        and not _is_ip(name)
    )
    if not valid:
        raise AwsError(
            "InvalidBucketName",
            "The specified bucket is not valid.",
            400,
            fields={"BucketName": name},
        )


def _is_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def parse_copy_source(source: str) -> tuple[str, str]:
    """``bucket/key[?versionId=...]``, URL-encoded, optionally with a leading slash."""
    path, _, query = source.partition("?")
    version = query[len("versionId=") :] if query.startswith("versionId=") else None
    bucket, _, key = unquote(path.lstrip("/")).partition("/")
    if not bucket or not key:
        raise AwsError(
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            400,
            fields={"ArgumentName": "x-amz-copy-source", "ArgumentValue": source},
        )
    check_version(version)
    return bucket, key


def check_version(version_id: str | None) -> None:
    """Buckets are unversioned: only the ``null`` version exists."""
    if version_id is not None and version_id != "null":
        raise AwsError(
            "InvalidArgument",
            "Invalid version id specified",
            400,
            fields={"ArgumentName": "versionId", "ArgumentValue": version_id},
        )


# -- listings -------------------------------------------------------------------------------


def encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    try:
        marker = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        if not marker:
            raise ValueError("empty token")
        return marker.decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise AwsError(
            "InvalidArgument",
            "The continuation token provided is incorrect",
            400,
            fields={"ArgumentName": "continuation-token"},
        ) from exc


def url_encoder(encoding_type: str | None) -> Any:
    """How listed names are written: percent-encoded when the client asked ``url``."""
    if encoding_type == "url":
        return lambda value: None if value is None else quote(value, safe="/")
    if encoding_type is not None:
        raise AwsError(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            400,
            fields={"ArgumentName": "encoding-type"},
        )
    return lambda value: value


def page_size(value: int | None, name: str = "max-keys") -> int:
    if value is None:
        return 1000
    if value < 0:
        raise AwsError(
            "InvalidArgument",
            f"Argument {name} must be an integer between 0 and 2147483647",
            400,
            fields={"ArgumentName": name},
        )
    return min(value, 1000)


def write_precondition(if_match: str | None, if_none_match: str | None) -> Precondition | None:
    if if_match is None and if_none_match is None:
        return None
    if if_none_match is not None and if_none_match.strip() != "*":
        raise AwsError(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            501,
            fields={"Header": "If-None-Match"},
        )
    return Precondition(if_match=if_match, if_none_match=if_none_match is not None)
