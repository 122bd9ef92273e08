"""MXNet (dmlc) RecordIO framing, as SageMaker Pipe mode writes it for ``RecordIO`` wrapping.

A record is the little-endian word ``0xCED7230A``, a length word, the data, and zero
padding to a multiple of 4 bytes. The length word keeps a continuation flag in its top 3
bits: dmlc escapes every 4-byte-aligned copy of the magic word inside the data by cutting
the record there (flag 1 first part, 2 middle, 3 last; 0 for a record in one piece) and
dropping that word, which the reader puts back. A record without such words is framed
byte for byte like the sagemaker SDK's ``_write_recordio``; ``read_recordio`` there reads
only such unescaped records.

Streaming a record needs its layout (length and escape offsets) before the first header,
so large records are scanned once and framed on a second pass (``LayoutScanner``, then
``frame``) instead of being held in memory.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAGIC = 0xCED7230A
MAX_RECORD = (1 << 29) - 1  # the length field's 29 bits bound a whole record in dmlc
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_HEADER = struct.Struct("<II")
_WHOLE, _FIRST, _MIDDLE, _LAST = 0, 1, 2, 3


class RecordIOError(ValueError):
    """Malformed RecordIO data, or a record RecordIO cannot hold."""


@dataclass(frozen=True)
class RecordLayout:
    length: int
    # Offsets of the 4-byte-aligned magic words inside the record (escaped when framed).
    escapes: tuple[int, ...] = ()


class LayoutScanner:
    """Learns a record's layout from its bytes, fed in chunks of any size."""

    def __init__(self) -> None:
        self._length = 0
        self._escapes: list[int] = []
        self._tail = b""  # the last < 4 bytes: a magic word may straddle two chunks

    def feed(self, chunk: bytes) -> None:
        base = self._length
        if self._tail:
            window = self._tail + chunk[:3]
            start = base - len(self._tail)
            i = window.find(_MAGIC_BYTES)
            while 0 <= i < len(self._tail):
                if (start + i) % 4 == 0:
                    self._escapes.append(start + i)
                i = window.find(_MAGIC_BYTES, i + 1)
        i = chunk.find(_MAGIC_BYTES)
        while i != -1:
            if (base + i) % 4 == 0:
                self._escapes.append(base + i)
            i = chunk.find(_MAGIC_BYTES, i + 1)
        self._length += len(chunk)
        self._tail = chunk[-3:] if len(chunk) >= 3 else (self._tail + chunk)[-3:]

    def layout(self) -> RecordLayout:
        if self._length > MAX_RECORD:
            raise RecordIOError(
                f"a record of {self._length} bytes is too large for RecordIO "
                f"(at most {MAX_RECORD} bytes)"
            )
        return RecordLayout(self._length, tuple(self._escapes))


def layout_of(data: bytes) -> RecordLayout:
    scanner = LayoutScanner()
    scanner.feed(data)
    return scanner.layout()


def frame(chunks: Iterable[bytes], layout: RecordLayout) -> Iterator[bytes | memoryview]:
    """The framed record whose bytes arrive as ``chunks`` (and match ``layout``)."""
    parts = _parts(layout)
    part = 0
    position = 0
    yield _header(*parts[0])
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            start, stop, _flag = parts[part]
            if position == stop and part + 1 < len(parts):
                part += 1
                yield _header(*parts[part])
                continue
            if position < start:  # the escaped magic word between two parts
                skip = min(start - position, len(view))
                position += skip
                view = view[skip:]
                continue
            take = min(stop - position, len(view))
            if take == 0:
                raise RecordIOError("the record grew while it was being framed")
            yield view[:take]
            position += take
            view = view[take:]
    if position != layout.length or part != len(parts) - 1:
        raise RecordIOError("the record shrank while it was being framed")
    if pad := _padding(layout.length):
        yield bytes(pad)


def encode(data: bytes) -> bytes:
    """One record, framed."""
    return b"".join(frame([data], layout_of(data)))


def write_record(out: BinaryIO, data: bytes) -> None:
    for piece in frame([data], layout_of(data)):
        out.write(piece)


def read_records(stream: BinaryIO) -> Iterator[bytes]:
    """The records of a RecordIO stream, escaped parts joined back together."""
    parts: list[bytes] = []
    while True:
        header = stream.read(_HEADER.size)
        if not header and not parts:
            return
        if len(header) != _HEADER.size:
            raise RecordIOError("the stream ends inside a record header")
        magic, word = _HEADER.unpack(header)
        if magic != MAGIC:
            raise RecordIOError(f"bad magic word 0x{magic:08x}")
        flag, length = word >> 29, word & MAX_RECORD
        if flag > _LAST or (flag in (_WHOLE, _FIRST)) == bool(parts):
            raise RecordIOError(f"unexpected continuation flag {flag}")
        body = stream.read(length + _padding(length))
        if len(body) != length + _padding(length):
            raise RecordIOError("the stream ends inside a record")
        parts.append(body[:length])
        if flag in (_WHOLE, _LAST):
            yield _MAGIC_BYTES.join(parts)
            parts = []


def _parts(layout: RecordLayout) -> list[tuple[int, int, int]]:
    """``(start, stop, flag)`` of each part: the record cut at its escaped magic words."""
    parts = []
    start = 0
    for i, offset in enumerate(layout.escapes):
        parts.append((start, offset, _FIRST if i == 0 else _MIDDLE))
        start = offset + 4
    parts.append((start, layout.length, _LAST if layout.escapes else _WHOLE))
    return parts


def _header(start: int, stop: int, flag: int) -> bytes:
    return _HEADER.pack(MAGIC, (flag << 29) | (stop - start))


def _padding(length: int) -> int:
    return -length % 4
