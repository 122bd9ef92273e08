"""Data capture for real-time endpoints: sampled requests and responses as JSON Lines in S3.

``CaptureWriter.capture`` runs on the server's event loop for every captured invocation, so
it only appends a reference to the bodies to a bounded queue; one background thread turns
the queue into files every ``flush_interval`` seconds. A file holds the records of one
(destination, endpoint, variant, hour) from one flush, laid out as SageMaker does:
``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<MM>-<SS>-<mmm>-<uuid>.jsonl``, named
after its first record's time. Capture never fails an invocation: a missing bucket or any
store error drops that batch with a warning (at most one per destination per minute), and
records beyond the queue's bounds are dropped and counted.

Sampling is the caller's decision (``CaptureConfig.sampled``), taken before the bodies are
handed over, so unsampled requests cost nothing here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sagebrush.jobs.endpoints._batches import BatchWriter
from sagebrush.storage import ObjectMeta, ObjectStore
from sagebrush.storage.errors import NoSuchBucket

__all__ = ["CaptureConfig", "CaptureWriter", "media_type", "parse_destination"]

log = logging.getLogger(__name__)

# The media type SageMaker's own capture objects are written with is not documented;
# JSON Lines has no registered type, so the generic binary one it is.
OBJECT_CONTENT_TYPE = "application/octet-stream"
WARN_EVERY = 60.0  # seconds between warnings about one destination

_MODES_WITH_INPUT = frozenset({"Input", "InputAndOutput"})
_MODES_WITH_OUTPUT = frozenset({"Output", "InputAndOutput"})
# https forms the API's DestinationS3Uri pattern admits: virtual-hosted and path style.
_VIRTUAL_HOST = re.compile(r"^(?P<bucket>[^/]+)\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com(\.cn)?$")
_PATH_HOST = re.compile(r"^s3[.-]([a-z0-9-]+\.)?amazonaws\.com(\.cn)?$")


def media_type(content_type: str) -> str:
    """``Text/CSV; charset=utf-8`` -> ``text/csv``: how capture content types are matched."""
    return content_type.split(";", 1)[0].strip().lower()


def parse_destination(uri: str) -> tuple[str, str] | None:
    """``s3://bucket/prefix/`` (or an S3 https URL) -> ``(bucket, "prefix")``; None if not S3."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return None
    host, _, path = rest.partition("/")
    if scheme == "s3":
        bucket = host
    elif scheme == "https" and (match := _VIRTUAL_HOST.match(host)):
        bucket = match.group("bucket")
    elif scheme == "https" and _PATH_HOST.match(host):
        bucket, _, path = path.partition("/")
    else:
        return None
    return (bucket, path.strip("/")) if bucket else None


@dataclass(frozen=True)
class CaptureConfig:
    """An endpoint config's ``DataCaptureConfig``, ready for the request path."""

    enabled: bool
    sampling_percentage: int
    destination: str  # s3://bucket/prefix, no trailing slash
    capture_input: bool
    capture_output: bool
    csv_content_types: frozenset[str]  # media types, lower case, no parameters
    json_content_types: frozenset[str]
    kms_key_id: str | None

    @classmethod
    def from_request(cls, config: Mapping[str, Any]) -> CaptureConfig:
        """From the API's ``DataCaptureConfig`` as received (already validated by the model).

        Without ``CaptureContentTypeHeader`` both lists are empty and everything is captured
        as base64, as the API documents; the SageMaker SDK always sends the header, with
        ``text/csv`` and ``application/json`` as its defaults.
        """
        modes = {option["CaptureMode"] for option in config.get("CaptureOptions") or ()}
        header = config.get("CaptureContentTypeHeader") or {}
        destination = str(config["DestinationS3Uri"]).rstrip("/")
        if destination.startswith("https://") and (where := parse_destination(destination)):
            bucket, prefix = where
            destination = f"s3://{bucket}/{prefix}".rstrip("/")
        enabled = config.get("EnableCapture")
        return cls(
            enabled=True if enabled is None else bool(enabled),
            sampling_percentage=int(config["InitialSamplingPercentage"]),
            destination=destination,
            capture_input=bool(modes & _MODES_WITH_INPUT),
            capture_output=bool(modes & _MODES_WITH_OUTPUT),
            csv_content_types=frozenset(media_type(t) for t in header.get("CsvContentTypes") or ()),
            json_content_types=frozenset(
                media_type(t) for t in header.get("JsonContentTypes") or ()
            ),
            kms_key_id=config.get("KmsKeyId") or None,
        )

    def sampled(self, rng: random.Random) -> bool:
        """Whether to capture one request: ``sampling_percentage`` percent of them."""
        return self.enabled and rng.random() * 100 < self.sampling_percentage

    def encoding(self, content_type: str | None) -> str:
        """``CSV``, ``JSON`` or ``BASE64`` for a body of this content type."""
        if content_type is None:
            return "BASE64"
        kind = media_type(content_type)
        if kind in self.csv_content_types:
            return "CSV"
        if kind in self.json_content_types:
            return "JSON"
        return "BASE64"


class _Record(NamedTuple):  # a NamedTuple: built on the request path, where it is cheapest
    config: CaptureConfig
    endpoint: str
    variant: str
    request_body: bytes | None  # None: not captured
    request_content_type: str | None
    response_body: bytes | None
    response_content_type: str | None
    inference_id: str | None
    event_id: str
    event_time: float


def _payload(
    config: CaptureConfig, mode: str, body: bytes, content_type: str | None
) -> dict[str, str]:
    encoding = config.encoding(content_type)
    data: str | None = None
    if encoding != "BASE64":
        try:
            data = body.decode("utf-8")
        except UnicodeDecodeError:
            # Text the caller labelled CSV/JSON but that is not UTF-8 survives only as bytes.
            encoding = "BASE64"
    if data is None:
        data = base64.b64encode(body).decode("ascii")
    out: dict[str, str] = {}
    if content_type is not None:
        out["observedContentType"] = content_type
    out.update(mode=mode, data=data, encoding=encoding)
    return out


def _capture_line(record: _Record) -> bytes:
    """One record as the line SageMaker writes (compact JSON, newline-terminated)."""
    capture: dict[str, Any] = {}
    if record.request_body is not None:
        capture["endpointInput"] = _payload(
            record.config, "INPUT", record.request_body, record.request_content_type
        )
    if record.response_body is not None:
        capture["endpointOutput"] = _payload(
            record.config, "OUTPUT", record.response_body, record.response_content_type
        )
    metadata = {"eventId": record.event_id}
    if record.inference_id is not None:
        metadata["inferenceId"] = record.inference_id
    # Whole seconds, as in every capture file we have seen published.
    metadata["inferenceTime"] = _utc(record.event_time).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = {"captureData": capture, "eventMetadata": metadata, "eventVersion": "0"}
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class _Batch:
    """The records of one file: one destination, endpoint, variant, hour and KMS key."""

    destination: str
    endpoint: str
    variant: str
    hour: int  # epoch hour of the invocations
    kms_key_id: str | None
    records: tuple[_Record, ...]

    def key(self, prefix: str) -> str:
        first = _utc(self.records[0].event_time)
        name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
        parts = [prefix] if prefix else []
        parts += [self.endpoint, self.variant, f"{first:%Y/%m/%d/%H}", name]
        return "/".join(parts)


def _batches(records: Sequence[_Record]) -> list[_Batch]:
    grouped: dict[tuple[str, str, str, int, str | None], list[_Record]] = {}
    for record in records:
        config = record.config
        hour = int(record.event_time // 3600)
        group = (config.destination, record.endpoint, record.variant, hour, config.kms_key_id)
        grouped.setdefault(group, []).append(record)
    return [_Batch(*group, records=tuple(batch)) for group, batch in grouped.items()]


class CaptureWriter(BatchWriter["_Record"]):
    """Queues captured invocations and writes them to the object store in the background."""

    def __init__(
        self,
        objects: ObjectStore,
        *,
        flush_interval: float = 1.0,
        max_pending: int = 20000,
        max_pending_bytes: int = 128 << 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Bodies run to 6 MiB each: a count alone would not bound memory.
        super().__init__(
            name="data-capture",
            unit="records",
            interval=flush_interval,
            max_pending=max_pending,
            max_pending_bytes=max_pending_bytes,
            log=log,
        )
        self._objects = objects
        self._clock = clock
        self._warned: dict[str, float] = {}

    def capture(
        self,
        config: CaptureConfig,
        endpoint: str,
        variant: str,
        *,
        request_body: bytes,
        request_content_type: str | None,
        response_body: bytes | None,
        response_content_type: str | None,
        inference_id: str | None,
        event_id: str,
        event_time: float,
    ) -> None:
        """Queue one sampled invocation; ``response_body`` None means there was no answer.

        O(1) and never raises: the bodies are kept by reference until the next flush.
        """
        request = request_body if config.capture_input else None
        response = response_body if config.capture_output else None
        if not config.enabled or (request is None and response is None):
            return
        size = (0 if request is None else len(request)) + (0 if response is None else len(response))
        record = _Record(
            config,
            endpoint,
            variant,
            request,
            request_content_type,
            response,
            response_content_type,
            inference_id,
            event_id,
            event_time,
        )
        self._offer(record, size)

    # --- writing ----------------------------------------------------------------------------

    def _write(self, items: list[_Record]) -> None:
        try:
            _run_blocking(lambda: self._write_all(_batches(items)))
        except Exception:  # a bug here must not kill the thread or reach a caller
            log.exception("data capture: dropped %d records", len(items))

    async def _write_all(self, batches: Sequence[_Batch]) -> None:
        for batch in batches:
            try:
                await self._write_batch(batch)
            except NoSuchBucket as exc:
                self._warn(batch, f"bucket {exc.bucket!r} does not exist")
            except Exception as exc:
                self._warn(batch, f"{type(exc).__name__}: {exc}")

    async def _write_batch(self, batch: _Batch) -> None:
        where = parse_destination(batch.destination)
        if where is None:
            raise ValueError(f"{batch.destination!r} is not an S3 location")
        bucket, prefix = where
        # Encoded per batch and released after it: at most one file's bytes at a time.
        lines = [_capture_line(record) for record in batch.records]

        async def body() -> AsyncIterator[bytes]:
            for line in lines:
                yield line

        await self._objects.put_object(
            bucket,
            batch.key(prefix),
            body(),
            meta=_object_meta(batch.kms_key_id),
            size=sum(len(line) for line in lines),
        )

    def _warn(self, batch: _Batch, reason: str) -> None:
        now = self._clock()
        last = self._warned.get(batch.destination)
        if last is not None and now - last < WARN_EVERY:
            return
        self._warned = {d: t for d, t in self._warned.items() if now - t < WARN_EVERY}
        self._warned[batch.destination] = now
        log.warning(
            "data capture to %s for endpoint %s variant %s failed (%s); dropped %d records "
            "(further failures for this destination are not logged for %d s)",
            batch.destination,
            batch.endpoint,
            batch.variant,
            reason,
            len(batch.records),
            int(WARN_EVERY),
        )


def _object_meta(kms_key_id: str | None) -> ObjectMeta:
    # Stored like an S3 PutObject with SSE-KMS, so HeadObject reports the key SageMaker used.
    if kms_key_id is None:
        return ObjectMeta(content_type=OBJECT_CONTENT_TYPE, extra={"sse": "AES256"})
    extra = {"sse": "aws:kms", "sse_kms_key_id": kms_key_id}
    return ObjectMeta(content_type=OBJECT_CONTENT_TYPE, extra=extra)


def _run_blocking(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``work()`` to completion on a private loop, even if called from a running one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(work())
        return
    # flush() called on an event loop: asyncio.run refuses to nest, so the write gets a
    # thread of its own while the caller waits, as flush() promises (_write never raises).
    thread = threading.Thread(target=lambda: asyncio.run(work()), name="data-capture-flush")
    thread.start()
    thread.join()
