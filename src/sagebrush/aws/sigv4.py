"""AWS Signature Version 4: reading the credential scope and verifying signatures.

The canonical request is rebuilt exactly as botocore's signers build it
(``botocore.auth.SigV4Auth``, ``S3SigV4Auth``, ``S3SigV4QueryAuth``): S3 signs the path as
sent, every other service signs it normalized and percent-encoded once more. The scope's
region is never checked against the server's: one server answers for every region.

S3 payloads are streamed, so their hash cannot be known when the headers are verified.
:func:`expected_payload_sha256` says which SHA-256 the streamed body must still match and
:func:`sagebrush.aws.chunked.chunk_verifier` verifies the signed chunks of
``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` bodies; both plug into
:func:`sagebrush.aws.chunked.payload_stream`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import HttpRequest

logger = logging.getLogger(__name__)

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_V2_HEADER = re.compile(r"AWS ([^:\s]+):(\S+)")
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)

SecretLookup = Callable[[str], str | None]


@dataclass(frozen=True)
class SigV4Info:
    """What a request's Authorization header (or presigned query string) claims.

    ``version`` is 2 for the legacy ``AWS AKID:signature`` form, of which only the access
    key is read. ``payload_hash`` is the ``x-amz-content-sha256`` value, when sent.
    """

    access_key: str
    date: str = ""  # the scope date, YYYYMMDD
    region: str = ""
    service: str = ""  # the scope service: a routing key for the gateway
    signed_headers: tuple[str, ...] = ()
    signature: str = ""
    amz_date: str = ""  # the request time, YYYYMMDDTHHMMSSZ
    expires: int | None = None  # presigned URLs: seconds of validity after amz_date
    presigned: bool = False
    security_token: str | None = None
    payload_hash: str | None = None
    version: int = 4
    # Whether S3's signing rules apply; None: decided by the scope service.
    s3_rules: bool | None = None

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"

    @property
    def is_s3(self) -> bool:
        if self.s3_rules is not None:
            return self.s3_rules
        return self.service in {"s3", "s3express"}


# -- parsing ------------------------------------------------------------------------------


def parse_credentials(request: HttpRequest) -> SigV4Info | None:
    """The signature claims of ``request``, or None when it is not signed at all.

    Raises AwsError (400) for a SigV4 Authorization header or query string that is
    malformed.
    """
    auth = request.headers.get("authorization", "").strip()
    if auth.startswith(ALGORITHM):
        return _parse_header(request, auth[len(ALGORITHM) :])
    if auth.startswith("AWS "):
        match = _V2_HEADER.fullmatch(auth)
        if match is None:
            raise AwsError("IncompleteSignature", "Malformed AWS Authorization header.")
        return SigV4Info(
            access_key=match.group(1),
            service="s3",
            signature=match.group(2),
            amz_date=_request_time(request),
            version=2,
        )
    query = request.query_dict()
    if "X-Amz-Algorithm" in query or "X-Amz-Credential" in query:
        return _parse_presigned(request, query)
    if "AWSAccessKeyId" in query and "Signature" in query:
        expires = query.get("Expires", "")
        return SigV4Info(
            access_key=query["AWSAccessKeyId"],
            service="s3",
            signature=query["Signature"],
            expires=int(expires) if expires.isdigit() else None,
            presigned=True,
            version=2,
        )
    return None


def _parse_header(request: HttpRequest, rest: str) -> SigV4Info:
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    credential = fields.get("Credential", "")
    scope = _split_scope(credential)
    if scope is None or "SignedHeaders" not in fields or "Signature" not in fields:
        raise _malformed(credential, "The authorization header is malformed.")
    access_key, date, region, service = scope
    return SigV4Info(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=_split_signed_headers(fields["SignedHeaders"]),
        signature=fields["Signature"],
        amz_date=_request_time(request),
        security_token=request.headers.get("x-amz-security-token"),
        payload_hash=request.headers.get("x-amz-content-sha256"),
    )


def _parse_presigned(request: HttpRequest, query: dict[str, str]) -> SigV4Info:
    credential = query.get("X-Amz-Credential", "")
    scope = _split_scope(credential)
    missing = [
        name
        for name in ("X-Amz-Algorithm", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
        if name not in query
    ]
    if scope is None or missing:
        raise AwsError(
            "AuthorizationQueryParametersError",
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters.",
        )
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise AwsError(
            "AuthorizationQueryParametersError",
            'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
        )
    expires_text = query.get("X-Amz-Expires", str(MAX_PRESIGNED_EXPIRES))
    if not expires_text.isdigit():
        raise AwsError("AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
    expires = int(expires_text)
    if expires > MAX_PRESIGNED_EXPIRES:
        raise AwsError(
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )
    access_key, date, region, service = scope
    return SigV4Info(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=_split_signed_headers(query["X-Amz-SignedHeaders"]),
        signature=query["X-Amz-Signature"],
        amz_date=query["X-Amz-Date"],
        expires=expires,
        presigned=True,
        security_token=query.get("X-Amz-Security-Token"),
        payload_hash=request.headers.get("x-amz-content-sha256")
        or query.get("X-Amz-Content-Sha256"),
    )


def _split_scope(credential: str) -> tuple[str, str, str, str] | None:
    # The access key cannot hold "/", so the last four parts are the scope.
    parts = credential.split("/")
    if len(parts) < 5 or parts[-1] != "aws4_request" or not all(parts[-4:-1]):
        return None
    return "/".join(parts[:-4]), parts[-4], parts[-3], parts[-2]


def _split_signed_headers(value: str) -> tuple[str, ...]:
    return tuple(h.strip().lower() for h in value.split(";") if h.strip())


def _request_time(request: HttpRequest) -> str:
    amz_date = request.headers.get("x-amz-date")
    if amz_date:
        return amz_date.strip()
    date = request.headers.get("date")
    if date:
        try:
            return parsedate_to_datetime(date).astimezone(UTC).strftime(TIMESTAMP_FORMAT)
        except (TypeError, ValueError):
            return ""
    return ""


def _malformed(credential: str, message: str) -> AwsError:
    if "/s3/" in credential:
        return AwsError("AuthorizationHeaderMalformed", message)
    return AwsError("IncompleteSignature", message)


# -- verification -------------------------------------------------------------------------


def verify(
    request: HttpRequest,
    info: SigV4Info,
    secret_for: SecretLookup,
    now: datetime,
    body_sha256: str | None = None,
    *,
    s3: bool | None = None,
) -> None:
    """Raise AwsError unless ``request`` carries a valid signature by a known key.

    ``body_sha256`` is the hex SHA-256 of the whole body; the gateway passes it for
    services whose bodies it reads whole (all but S3). For S3 the body is streamed:
    :func:`expected_payload_sha256` then names the hash it must still match. ``s3`` says
    whether S3's rules apply (path signed as sent, S3's error codes); by default the scope
    service decides.
    """
    if s3 is not None and s3 != info.is_s3:
        info = replace(info, s3_rules=s3)
    secret = secret_for(info.access_key)
    if secret is None:
        raise unknown_key(info)
    if info.version == 2:
        _verify_v2(request, info, secret, now)
        return
    signed_at = _parse_timestamp(info)
    _check_time(info, signed_at, now)
    if info.date != info.amz_date[:8]:
        raise AwsError(
            "SignatureDoesNotMatch",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
            f"date from HTTP: '{info.date}' != '{info.amz_date[:8]}'",
            403,
        )
    payload = _canonical_payload_hash(request, info, body_sha256)
    key = signing_key(secret, info.date, info.region, info.service)
    for canonical in _canonical_requests(request, info, payload):
        to_sign = string_to_sign(info, canonical)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, info.signature.lower()):
            break
    else:
        logger.debug("SigV4 mismatch for %s; canonical request:\n%s", info.access_key, canonical)
        raise AwsError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
    declared = expected_payload_sha256(info)
    if declared is not None and body_sha256 is not None:
        check_payload_sha256(declared, body_sha256)


def expected_payload_sha256(info: SigV4Info | None) -> str | None:
    """The hex SHA-256 the body must match: the signed ``x-amz-content-sha256`` when it is a
    hash (not ``UNSIGNED-PAYLOAD`` nor a ``STREAMING-*`` mode), else None."""
    if info is None or info.payload_hash is None:
        return None
    value = info.payload_hash.strip()
    return value.lower() if _HEX64.fullmatch(value) else None


def check_payload_sha256(expected: str, actual: str) -> None:
    """S3's answer when a body does not hash to its declared ``x-amz-content-sha256``."""
    if not hmac.compare_digest(expected.lower(), actual.lower()):
        raise AwsError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            400,
            fields={
                "ClientComputedContentSHA256": expected,
                "S3ComputedContentSHA256": actual,
            },
        )


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    return _signing_key(secret, date, region, service)


@lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def string_to_sign(info: SigV4Info, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return f"{ALGORITHM}\n{info.amz_date}\n{info.scope}\n{digest}"


def canonical_request(request: HttpRequest, info: SigV4Info, payload_hash: str) -> str:
    """The canonical request as the client most likely built it (the first candidate)."""
    return next(_canonical_requests(request, info, payload_hash))


def _canonical_requests(request: HttpRequest, info: SigV4Info, payload_hash: str) -> Iterator[str]:
    query = _canonical_query(request, info)
    headers = _canonical_headers(request, info.signed_headers)
    tail = f"{query}\n{headers}\n{';'.join(info.signed_headers)}\n{payload_hash}"
    method = request.method.upper()
    seen: set[str] = set()
    for path in _canonical_paths(request.raw_path or "/", info.is_s3):
        if path not in seen:
            seen.add(path)
            yield f"{method}\n{path}\n{tail}"


def _canonical_paths(raw_path: str, is_s3: bool) -> list[str]:
    # First as botocore signs; then as a client that encodes the path more or less
    # eagerly than the wire form would have signed it (AWS's own rule: encode once).
    strict = quote(unquote(raw_path), safe="/~")
    if is_s3:
        return [raw_path, strict]
    return [
        quote(_remove_dot_segments(raw_path), safe="/~"),
        quote(_remove_dot_segments(strict), safe="/~"),
    ]


def _remove_dot_segments(path: str) -> str:
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


def _canonical_query(request: HttpRequest, info: SigV4Info) -> str:
    pairs = [
        (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
        for k, v in request.query
        if not (info.presigned and k == "X-Amz-Signature")
    ]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_headers(request: HttpRequest, names: tuple[str, ...]) -> str:
    lines = []
    for name in names:
        values = request.headers.get_all(name)
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}")
    return "\n".join(lines) + "\n"


def _canonical_payload_hash(request: HttpRequest, info: SigV4Info, body_sha256: str | None) -> str:
    if info.payload_hash:
        return info.payload_hash.strip()
    if info.presigned and info.is_s3:
        return UNSIGNED_PAYLOAD
    return body_sha256 or EMPTY_SHA256


def _parse_timestamp(info: SigV4Info) -> datetime:
    try:
        return datetime.strptime(info.amz_date, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        if info.presigned:
            raise AwsError(
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            ) from None
        raise AwsError(
            "AccessDenied" if info.is_s3 else "IncompleteSignature",
            "AWS authentication requires a valid Date or x-amz-date header",
            403 if info.is_s3 else 400,
        ) from None


def _check_time(info: SigV4Info, signed_at: datetime, now: datetime) -> None:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if info.presigned:
        if now > signed_at + timedelta(seconds=info.expires or 0):
            raise AwsError("AccessDenied", "Request has expired", 403)
        if signed_at - now > MAX_SKEW:
            raise AwsError("AccessDenied", "Request is not valid yet", 403)
        return
    if abs(now - signed_at) > MAX_SKEW:
        raise AwsError(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
        )


def unknown_key(info: SigV4Info) -> AwsError:
    if info.is_s3:
        return AwsError(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
            fields={"AWSAccessKeyId": info.access_key},
        )
    return AwsError(
        "InvalidClientTokenId", "The security token included in the request is invalid.", 403
    )


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


# -- SigV2 (S3 only; still botocore's default for S3 presigned URLs) ------------------------

# The sub-resources botocore's HmacV1Auth signs, as S3 defines them.
_V2_SUBRESOURCES = frozenset(
    (  # noqa: SIM905 - one word list reads better than 35 lines
        "accelerate acl cors defaultObjectAcl location logging partNumber policy requestPayment "
        "torrent versioning versionId versions website uploads uploadId response-content-type "
        "response-content-language response-expires response-cache-control "
        "response-content-disposition response-content-encoding delete lifecycle tagging "
        "restore storageClass notification replication analytics metrics inventory select "
        "select-type object-lock"
    ).split()
)


def _verify_v2(request: HttpRequest, info: SigV4Info, secret: str, now: datetime) -> None:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    query = request.query_dict()
    if info.presigned:
        if info.expires is None or now.timestamp() > info.expires:
            raise AwsError("AccessDenied", "Request has expired", 403)
        date = str(info.expires)
    else:
        date = request.headers.get("date", "").strip()
        signed_at = _parse_timestamp(info)
        if abs(now - signed_at) > MAX_SKEW:
            raise AwsError(
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
                403,
            )
    custom: dict[str, list[str]] = {}
    for name, value in request.headers.raw_items():
        if name.lower().startswith("x-amz-"):
            custom.setdefault(name.lower(), []).append(value.strip())
    if info.presigned:
        for name, value in request.query:
            if name.lower().startswith("x-amz-"):
                custom.setdefault(name.lower(), []).append(value.strip())
    lines = [request.method.upper()]
    for name in ("content-md5", "content-type"):
        lines.append(request.headers.get(name, query.get(name, "")).strip())
    lines.append(date)
    lines.extend(f"{name}:{','.join(custom[name])}" for name in sorted(custom))
    subresources = sorted((k, v) for k, v in request.query if k in _V2_SUBRESOURCES)
    resource = request.raw_path or "/"
    if subresources:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in subresources)
    lines.append(resource)
    to_sign = "\n".join(lines)
    digest = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), info.signature):
        logger.debug("SigV2 mismatch for %s; string to sign:\n%s", info.access_key, to_sign)
        raise AwsError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
