"""Input objects of a transform job as records, and records as request payloads.

An object is gunzipped (``CompressionType``), split into records (``SplitType``) and packed
into the bodies of ``/invocations`` requests (``BatchStrategy``, ``MaxPayloadInMB``). A
record is its data alone: a line without its terminator, a RecordIO or TFRecord record
without its framing. That is what InputFilter reads and JoinSource joins, and what a
``SingleRecord`` request carries: the API reference says padding is removed with
``SingleRecord`` and kept with ``MultiRecord``. A ``MultiRecord`` request carries its
records framed, so its body is itself a well-formed file of the split type:
newline-terminated lines (the last one too), or RecordIO / TFRecord frames back to back,
as SageMaker's TFRecord example container parses them.

Choices where SageMaker's documentation is silent:

- ``Line`` splits on ``\\n`` and takes a ``\\r`` before it as part of the terminator; a
  final line without a terminator is a record.
- Empty lines are not records. They carry nothing to infer on; models skip them or
  fail on them inside a multi-line body (the built-in XGBoost's CSV parser fails), so
  keeping them would misalign per-record outputs with their inputs; and the built-in
  XGBoost answers an empty ``SingleRecord`` body with 204 and nothing. (One issue
  thread, aws/amazon-sagemaker-examples#3783, hints that SageMaker passes blank lines
  through inside a ``MultiRecord`` body; nothing says how it counts them.)
- With ``SplitType`` None the object is one record even when empty: the request carries
  the whole object whatever it holds, and ``BatchStrategy`` does not apply.
- A record "fits" when its request body is at most ``MaxPayloadInMB`` MiB; ``0`` lifts
  the limit (SageMaker streams such bodies with chunked encoding).
- A corrupt RecordIO or TFRecord object fails its file, as a bad record does.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add

import crc32c

from sagebrush.container import recordio

MIB = 1024 * 1024
SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
BATCH_STRATEGIES = ("SingleRecord", "MultiRecord")
COMPRESSION_TYPES = ("None", "Gzip")

Record = bytes


class RecordsError(ValueError):
    """An input object that cannot be read, split or sent: its file fails."""


class RecordTooLarge(RecordsError):
    """A record (or an unsplit object) whose request body exceeds ``MaxPayloadInMB``."""

    def __init__(self, message: str, *, index: int, size: int, limit: int) -> None:
        super().__init__(message)
        self.index = index
        self.size = size
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Payload:
    """One request body and the records it carries: ``records[start:stop]``."""

    start: int
    stop: int
    body: bytes

    @property
    def count(self) -> int:
        return self.stop - self.start


def payload_limit(max_payload_in_mb: int) -> int | None:
    """``MaxPayloadInMB`` in bytes; None for 0, which sets no limit."""
    if max_payload_in_mb < 0:
        raise ValueError(f"MaxPayloadInMB must be at least 0, not {max_payload_in_mb}")
    return max_payload_in_mb * MIB or None


def decompress(data: bytes, compression_type: str | None) -> bytes:
    if compression_type in (None, "None"):
        return data
    if compression_type != "Gzip":
        raise ValueError(f"CompressionType must be one of {COMPRESSION_TYPES}")
    try:
        # gzip.decompress (not zlib with wbits=31) reads concatenated members too, as
        # gzip(1) and S3 multipart-assembled archives produce them.
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise RecordsError(
            f"CompressionType is Gzip but the object is not valid gzip data: {error}"
        ) from None


def split_records(data: bytes, split_type: str | None) -> list[Record]:
    """The records of one (decompressed) object, in order."""
    if split_type in (None, "None"):
        return [data]
    if split_type == "Line":
        return _split_lines(data)
    if split_type == "RecordIO":
        return _split_recordio(data)
    if split_type == "TFRecord":
        return _split_tfrecord(data)
    raise ValueError(f"SplitType must be one of {SPLIT_TYPES}")


class Framing(ABC):
    """How records of one split type sit together in a ``MultiRecord`` request body."""

    splits = True  # False: the object is one record, whatever the batch strategy

    @abstractmethod
    def sizes(self, records: Sequence[Record]) -> Iterable[int]:
        """Each record's share of a multi-record body, in bytes."""

    @abstractmethod
    def join(self, records: Sequence[Record]) -> bytes:
        """The body of a multi-record request."""


def framing_for(split_type: str | None) -> Framing:
    if split_type in (None, "None"):
        return _WHOLE
    try:
        return _FRAMINGS[split_type]
    except KeyError:
        raise ValueError(f"SplitType must be one of {SPLIT_TYPES}") from None


def pack(
    records: Sequence[Record],
    batch_strategy: str,
    max_payload_bytes: int | None,
    framing: Framing,
) -> list[Payload]:
    """The request bodies for ``records``, in order; None (or 0) bytes is no limit.

    ``MultiRecord`` fills each body greedily with as many consecutive records as fit.
    A record that does not fit on its own fails the file (``RecordTooLarge``).
    """
    if batch_strategy not in BATCH_STRATEGIES:
        raise ValueError(f"BatchStrategy must be one of {BATCH_STRATEGIES}")
    limit = max_payload_bytes or None
    if batch_strategy == "SingleRecord" or not framing.splits:
        if limit is not None:
            sizes = list(map(len, records))
            if sizes and max(sizes) > limit:
                index = next(i for i, size in enumerate(sizes) if size > limit)
                raise _too_large(framing, index, sizes[index], limit)
        return [Payload(i, i + 1, record) for i, record in enumerate(records)]
    ends = list(accumulate(framing.sizes(records), initial=0))
    count = len(records)
    bounds: list[tuple[int, int]] = []
    start = 0
    while start < count:
        # Prefix sums turn "as many as fit" into one binary search per body, so a
        # million records cost a few dozen searches rather than a million additions.
        stop = count if limit is None else bisect_right(ends, ends[start] + limit) - 1
        if stop == start:
            raise _too_large(framing, start, ends[start + 1] - ends[start], limit or 0)
        bounds.append((start, stop))
        start = stop
    return [Payload(start, stop, framing.join(records[start:stop])) for start, stop in bounds]


def _too_large(framing: Framing, index: int, size: int, limit: int) -> RecordTooLarge:
    allowed = f"MaxPayloadInMB allows {limit} bytes"
    if limit % MIB == 0:
        allowed = f"MaxPayloadInMB={limit // MIB} allows {limit} bytes"
    if framing.splits:
        message = (
            f"record {index + 1} takes {size} bytes in a request, but {allowed}; "
            "raise MaxPayloadInMB to at least the size of one record"
        )
    else:
        message = (
            f"the object is {size} bytes, but {allowed} in one request; "
            "set SplitType to send it in records, or raise MaxPayloadInMB"
        )
    return RecordTooLarge(message, index=index, size=size, limit=limit)


# -- Line ---------------------------------------------------------------------------------


def _split_lines(data: bytes) -> list[Record]:
    # bytes.split and C-level filters only: a Python loop per line would cost seconds on
    # the million-line objects batch jobs are made for.
    lines = data.split(b"\n")
    last = lines.pop()  # after the final terminator: b"" or a line without one
    if b"\r" in data:  # one byte: a memchr, where a two-byte search is ten times slower
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    lines.append(last)
    return list(filter(None, lines))


def pack_lines(data: bytes, max_payload_bytes: int | None) -> list[Payload] | None:
    """``MultiRecord`` bodies of a ``Line`` object cut straight from its bytes, at the last
    newline that fits — what ``pack(split_records(...))`` gives when every line is a plain
    record, without touching each line (an 80 MB object: ~20 ms, not ~200). None when the
    object has carriage returns or empty lines (they change records), or a line that
    does not fit: the general path then decides, and reports."""
    if not data or b"\r" in data or b"\n\n" in data or data.startswith(b"\n"):
        return None
    if not data.endswith(b"\n"):
        data += b"\n"
    limit = max_payload_bytes or len(data)
    payloads: list[Payload] = []
    start = first = 0
    while start < len(data):
        end = min(start + limit, len(data))
        cut = end if end == len(data) else data.rfind(b"\n", start, end) + 1
        if cut <= start:
            return None
        body = data[start:cut]
        count = body.count(b"\n")
        payloads.append(Payload(first, first + count, body))
        first += count
        start = cut
    return payloads


class _LineFraming(Framing):
    def sizes(self, records: Sequence[Record]) -> Iterable[int]:
        return map(add, map(len, records), repeat(1))

    def join(self, records: Sequence[Record]) -> bytes:
        return b"\n".join(records) + b"\n"


# -- RecordIO -----------------------------------------------------------------------------

_RECORDIO_HEADER = struct.Struct("<II")
_RECORDIO_MAGIC = struct.pack("<I", recordio.MAGIC)


def _split_recordio(data: bytes) -> list[Record]:
    try:
        return list(recordio.read_records(io.BytesIO(data)))
    except recordio.RecordIOError as error:
        raise RecordsError(f"SplitType is RecordIO but the object is not: {error}") from None


def _frame_recordio(record: Record) -> bytes:
    # Records without the magic word (nearly all) need no escaping: frame them directly
    # rather than through the streaming framer.
    if _RECORDIO_MAGIC in record or len(record) > recordio.MAX_RECORD:
        try:
            return recordio.encode(record)
        except recordio.RecordIOError as error:
            raise RecordsError(str(error)) from None
    header = _RECORDIO_HEADER.pack(recordio.MAGIC, len(record))
    return header + record + bytes(-len(record) % 4)


def _recordio_size(record: Record) -> int:
    if _RECORDIO_MAGIC in record or len(record) > recordio.MAX_RECORD:
        return len(_frame_recordio(record))
    return _RECORDIO_HEADER.size + len(record) + -len(record) % 4


class _RecordIOFraming(Framing):
    def sizes(self, records: Sequence[Record]) -> Iterable[int]:
        return map(_recordio_size, records)

    def join(self, records: Sequence[Record]) -> bytes:
        return b"".join(map(_frame_recordio, records))


# -- TFRecord -----------------------------------------------------------------------------

# A TFRecord is: length (u64 LE), masked CRC32C of those 8 bytes (u32 LE), the data, and
# the masked CRC32C of the data (u32 LE).
_TF_HEADER = struct.Struct("<QI")
_TF_FOOTER = struct.Struct("<I")
_TF_OVERHEAD = _TF_HEADER.size + _TF_FOOTER.size


def _masked_crc(data: bytes) -> int:
    crc = int(crc32c.crc32c(data))
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _split_tfrecord(data: bytes) -> list[Record]:
    records: list[Record] = []
    position, end = 0, len(data)
    while position < end:
        number = len(records) + 1
        if end - position < _TF_HEADER.size:
            raise _bad_tfrecord(number, "the object ends inside its header")
        length, length_crc = _TF_HEADER.unpack_from(data, position)
        if _masked_crc(data[position : position + 8]) != length_crc:
            raise _bad_tfrecord(number, "the CRC of its length does not match")
        start = position + _TF_HEADER.size
        stop = start + length
        if stop + _TF_FOOTER.size > end:
            raise _bad_tfrecord(number, f"the object ends inside its {length} bytes of data")
        record = data[start:stop]
        if _masked_crc(record) != _TF_FOOTER.unpack_from(data, stop)[0]:
            raise _bad_tfrecord(number, "the CRC of its data does not match")
        records.append(record)
        position = stop + _TF_FOOTER.size
    return records


def _bad_tfrecord(number: int, why: str) -> RecordsError:
    return RecordsError(f"SplitType is TFRecord but record {number} is corrupt: {why}")


def _frame_tfrecord(record: Record) -> bytes:
    length = struct.pack("<Q", len(record))
    return b"".join(
        (
            length,
            _TF_FOOTER.pack(_masked_crc(length)),
            record,
            _TF_FOOTER.pack(_masked_crc(record)),
        )
    )


class _TFRecordFraming(Framing):
    def sizes(self, records: Sequence[Record]) -> Iterable[int]:
        return map(add, map(len, records), repeat(_TF_OVERHEAD))

    def join(self, records: Sequence[Record]) -> bytes:
        return b"".join(map(_frame_tfrecord, records))


# -- None ---------------------------------------------------------------------------------


class _WholeObject(Framing):
    splits = False

    def sizes(self, records: Sequence[Record]) -> Iterable[int]:
        return map(len, records)

    def join(self, records: Sequence[Record]) -> bytes:
        return b"".join(records)


_WHOLE = _WholeObject()
_FRAMINGS: dict[str, Framing] = {
    "Line": _LineFraming(),
    "RecordIO": _RecordIOFraming(),
    "TFRecord": _TFRecordFraming(),
}
