"""Request payload streams, including S3's ``aws-chunked`` content encoding.

An aws-chunked body is a series of ``<hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n``
chunks, a final zero-size chunk, optional trailer lines (``x-amz-checksum-crc32:...``) and an
empty line. The decoder passes data through as the slices it arrived in (a whole incoming
piece unchanged when it lies inside one chunk) and parses only the framing with
``bytes.find``, so it costs little more than the copy the transport already made.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator
from typing import Protocol

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Headers, HttpRequest
from sagebrush.aws.sigv4 import (
    EMPTY_SHA256,
    SIGNATURE_MISMATCH,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    SecretLookup,
    SigV4Info,
    check_payload_sha256,
    signing_key,
    unknown_key,
)
from sagebrush.aws.streams import PayloadStream

_MAX_LINE = 4096  # a size line with a signature extension is under 100 bytes
_MAX_TRAILERS = 16 * 1024
_HEX_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_CRLF = b"\r\n"

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkVerifier(Protocol):
    """Checks chunk signatures (see :class:`ChunkSignatureVerifier`)."""

    def verify_chunk(self, data_sha256: str, signature: str | None) -> None: ...

    def verify_trailer(self, canonical_trailers: bytes, signature: str | None) -> None: ...


def is_aws_chunked(headers: Headers) -> bool:
    """Whether the body is aws-chunked framed, by Content-Encoding or the payload mode."""
    if "aws-chunked" in headers.get("content-encoding", "").lower():
        return True
    return headers.get("x-amz-content-sha256", "").startswith("STREAMING-")


def stored_content_encoding(headers: Headers) -> str | None:
    """The Content-Encoding an object keeps: the sent one without ``aws-chunked``."""
    value = headers.get("content-encoding")
    if value is None:
        return None
    kept = [p.strip() for p in value.split(",") if p.strip() and p.strip() != "aws-chunked"]
    return ",".join(kept) or None


def payload_stream(
    request: HttpRequest,
    chunk_verifier: ChunkVerifier | None = None,
    *,
    expected_sha256: str | None = None,
) -> PayloadStream:
    """The decoded payload of ``request`` as a stream (aws-chunked framing removed).

    ``chunk_verifier`` checks chunk signatures as they arrive; ``expected_sha256`` (the
    signed hex ``x-amz-content-sha256``) is checked against the body at its end. Both
    default to the request's ``payload_checks``, set by the gateway when it authenticated. Either
    failure raises AwsError from the iteration, before the last chunk is handed out, so a
    consumer that commits only after reading to the end never commits a bad body.
    """
    checks = request.payload_checks
    if checks is not None and chunk_verifier is None and expected_sha256 is None:
        chunk_verifier, expected_sha256 = checks.chunk_verifier, checks.expected_sha256
    headers = request.headers
    source: AsyncIterator[bytes] = request.body.stream()
    if not is_aws_chunked(headers):
        if expected_sha256 is not None:
            source = _check_sha256(source, expected_sha256)
        return PayloadStream(source, _int_header(headers, "content-length"))
    length = _int_header(headers, "x-amz-decoded-content-length")
    trailers: dict[str, str] = {}
    chunks = _dechunk(source, _Decoder(chunk_verifier, trailers), length)
    if expected_sha256 is not None:
        chunks = _check_sha256(chunks, expected_sha256)
    stream = PayloadStream(chunks, length)
    stream.trailers = trailers
    return stream


async def _dechunk(
    source: AsyncIterator[bytes], decoder: _Decoder, length: int | None
) -> AsyncIterator[bytes]:
    total = 0
    async for piece in source:
        for out in decoder.feed(piece):
            total += len(out)
            if length is not None and total > length:
                raise _incomplete()
            yield out
    decoder.finish()
    if length is not None and total != length:
        raise _incomplete()


async def _check_sha256(source: AsyncIterator[bytes], expected: str) -> AsyncIterator[bytes]:
    digest = hashlib.sha256()
    held: bytes | None = None
    async for piece in source:
        # Hold one piece back so the last one is released only once the hash is known good.
        if held is not None:
            yield held
        digest.update(piece)
        held = piece
    check_payload_sha256(expected, digest.hexdigest())
    if held is not None:
        yield held


class _Decoder:
    """An incremental aws-chunked parser: feed it pieces, get decoded data slices back."""

    def __init__(self, verifier: ChunkVerifier | None, trailers: dict[str, str]) -> None:
        self._verifier = verifier
        self._trailers = trailers
        self._pending = b""  # framing bytes split across pieces (never chunk data)
        self._state = _SIZE
        self._left = 0
        self._signature: str | None = None
        self._digest = hashlib.sha256() if verifier is not None else None
        self._trailer_bytes = 0
        self._trailer_signature: str | None = None
        self._canonical_trailers: list[bytes] = []

    def feed(self, piece: bytes) -> list[bytes]:
        data = self._pending + piece if self._pending else piece
        self._pending = b""
        out: list[bytes] = []
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._left, end - pos)
                part = data if take == end else data[pos : pos + take]
                if self._digest is not None:
                    self._digest.update(part)
                out.append(part)
                pos += take
                self._left -= take
                if not self._left:
                    self._state = _DATA_END
            elif state == _DATA_END:
                if end - pos < 2:
                    break
                if data[pos : pos + 2] != _CRLF:
                    raise _malformed("Chunk data is not followed by CRLF.")
                pos += 2
                self._end_chunk()
                self._state = _SIZE
            elif state == _SIZE:
                eol = data.find(_CRLF, pos)
                if eol < 0:
                    if end - pos > _MAX_LINE:
                        raise _malformed("Chunk size line is too long.")
                    break
                self._start_chunk(data[pos:eol])
                pos = eol + 2
            elif state == _TRAILER:
                eol = data.find(_CRLF, pos)
                if eol < 0:
                    if end - pos > _MAX_TRAILERS:
                        raise _malformed("Trailers are too long.")
                    break
                self._trailer_line(data[pos:eol])
                pos = eol + 2
            else:
                raise _malformed("Data found after the end of the aws-chunked body.")
        if pos < end:
            self._pending = data[pos:]
        return out

    def finish(self) -> None:
        if self._state == _TRAILER and not self._pending:
            # Tolerate a body that ends after its trailers without the closing empty line.
            self._end_trailers()
        elif self._state != _DONE:
            raise _incomplete()

    def _start_chunk(self, line: bytes) -> None:
        size_text, _, extensions = line.partition(b";")
        size_text = size_text.strip()
        if not _HEX_SIZE.fullmatch(size_text):
            raise _malformed("Invalid chunk size.")
        self._signature = None
        for ext in extensions.split(b";"):
            name, _, value = ext.partition(b"=")
            if name.strip() == b"chunk-signature":
                self._signature = value.strip().decode("ascii", "replace")
        size = int(size_text, 16)
        if size:
            self._left = size
            self._state = _DATA
        else:
            self._end_chunk()
            self._state = _TRAILER

    def _end_chunk(self) -> None:
        if self._verifier is None or self._digest is None:
            return
        self._verifier.verify_chunk(self._digest.hexdigest(), self._signature)
        self._digest = hashlib.sha256()

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            self._end_trailers()
            self._state = _DONE
            return
        self._trailer_bytes += len(line)
        if self._trailer_bytes > _MAX_TRAILERS:
            raise _malformed("Trailers are too long.")
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise _malformed("Invalid trailer line.")
        key = name.strip().lower().decode("latin-1")
        text = value.strip().decode("latin-1")
        if key == "x-amz-trailer-signature":
            self._trailer_signature = text
            return
        self._trailers[key] = text
        self._canonical_trailers.append(f"{key}:{text}\n".encode("latin-1"))

    def _end_trailers(self) -> None:
        if self._verifier is not None and (self._trailers or self._trailer_signature):
            self._verifier.verify_trailer(
                b"".join(self._canonical_trailers), self._trailer_signature
            )
        self._state = _DONE


def _int_header(headers: Headers, name: str) -> int | None:
    value = headers.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _malformed(message: str) -> AwsError:
    return AwsError("InvalidRequest", f"Malformed aws-chunked body: {message}", 400)


def _incomplete() -> AwsError:
    return AwsError(
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        400,
    )


# -- signed chunks (aws-chunked payloads) ----------------------------------------------------


class ChunkSignatureVerifier:
    """Checks the chain of ``chunk-signature`` values of a signed aws-chunked body.

    Each chunk's signature covers the previous one, starting from the request signature,
    so chunks can be neither altered, dropped nor reordered.
    """

    def __init__(self, key: bytes, info: SigV4Info) -> None:
        self._key = key
        self._prefix = f"{info.amz_date}\n{info.scope}\n"
        self._previous = info.signature.lower()
        self.trailer_signed = info.payload_hash == STREAMING_SIGNED_TRAILER

    def verify_chunk(self, data_sha256: str, signature: str | None) -> None:
        to_sign = (
            f"AWS4-HMAC-SHA256-PAYLOAD\n{self._prefix}{self._previous}\n"
            f"{EMPTY_SHA256}\n{data_sha256}"
        )
        self._previous = self._check(to_sign, signature)

    def verify_trailer(self, canonical_trailers: bytes, signature: str | None) -> None:
        if not self.trailer_signed and signature is None:
            return
        digest = hashlib.sha256(canonical_trailers).hexdigest()
        to_sign = f"AWS4-HMAC-SHA256-TRAILER\n{self._prefix}{self._previous}\n{digest}"
        self._check(to_sign, signature)

    def _check(self, to_sign: str, signature: str | None) -> str:
        expected = hmac.new(self._key, to_sign.encode(), hashlib.sha256).hexdigest()
        if signature is None or not hmac.compare_digest(expected, signature.lower()):
            raise AwsError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
        return expected


def chunk_verifier(
    info: SigV4Info | None, secret_for: SecretLookup
) -> ChunkSignatureVerifier | None:
    """A verifier for the chunk signatures of a ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``
    body, or None when the payload is not signed chunk by chunk. Call after :func:`verify`."""
    if info is None or info.payload_hash not in {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER}:
        return None
    secret = secret_for(info.access_key)
    if secret is None:
        raise unknown_key(info)
    return ChunkSignatureVerifier(signing_key(secret, info.date, info.region, info.service), info)
