"""RecordIO framing: round trips, escaping, streaming, and the sagemaker SDK's layout."""

from __future__ import annotations

import io
import os
import random
import struct

import pytest
from sagemaker.amazon.common import _write_recordio, read_recordio

from sagebrush.container import recordio
from sagebrush.container.recordio import (
    MAGIC,
    LayoutScanner,
    RecordIOError,
    encode,
    frame,
    layout_of,
    read_records,
    write_record,
)

MAGIC_WORD = struct.pack("<I", MAGIC)


def sdk_bytes(records: list[bytes]) -> bytes:
    out = io.BytesIO()
    for record in records:
        _write_recordio(out, record)
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 1000, 65537])
def test_matches_the_sdk_writer(size: int) -> None:
    data = os.urandom(size).replace(MAGIC_WORD, b"\0\0\0\0")
    assert encode(data) == sdk_bytes([data])
    assert len(encode(data)) % 4 == 0


def test_sdk_reads_ours_and_we_read_the_sdks() -> None:
    records = [b"", b"a", b"ab", b"abc", b"abcd", b"1,2,3\n" * 100, os.urandom(999)]
    records = [r.replace(MAGIC_WORD, b"") for r in records]
    ours = io.BytesIO()
    for record in records:
        write_record(ours, record)
    assert list(read_recordio(io.BytesIO(ours.getvalue()))) == records
    assert list(read_records(io.BytesIO(sdk_bytes(records)))) == records


def test_the_header_layout() -> None:
    framed = encode(b"hello")
    assert framed[:4] == bytes.fromhex("0a23d7ce")  # 0xCED7230A, little-endian
    assert struct.unpack("<I", framed[4:8])[0] == 5
    assert framed[8:] == b"hello\0\0\0"


@pytest.mark.parametrize(
    "data",
    [
        MAGIC_WORD,
        MAGIC_WORD * 3,
        b"abcd" + MAGIC_WORD + b"efgh",
        b"abcd" + MAGIC_WORD + b"ef",
        b"ab" + MAGIC_WORD + b"ef",  # unaligned: not escaped
        b"xxxx" + MAGIC_WORD,
        MAGIC_WORD + b"tail",
    ],
)
def test_magic_words_inside_records_are_escaped(data: bytes) -> None:
    framed = encode(data)
    assert list(read_records(io.BytesIO(framed))) == [data]
    layout = layout_of(data)
    aligned = [i for i in range(0, len(data) - 3, 4) if data[i : i + 4] == MAGIC_WORD]
    assert list(layout.escapes) == aligned
    words = [struct.unpack("<I", framed[i : i + 4])[0] for i in range(0, len(framed), 4)]
    flags = [words[i + 1] >> 29 for i, w in enumerate(words[:-1]) if w == MAGIC]
    if aligned:
        assert flags[0] == 1 and flags[-1] == 3 and set(flags[1:-1]) <= {2}


def test_streamed_framing_matches_whole_framing() -> None:
    rng = random.Random(3)
    pieces = [os.urandom(rng.randrange(0, 50)) for _ in range(200)]
    for i in range(0, 200, 7):
        pieces[i] = MAGIC_WORD + pieces[i]
    data = b"".join(pieces)
    scanner = LayoutScanner()
    for piece in pieces:  # chunk edges fall anywhere, magic words straddle them
        scanner.feed(piece)
    assert scanner.layout() == layout_of(data)
    streamed = b"".join(bytes(p) for p in frame(pieces, scanner.layout()))
    assert streamed == encode(data)
    assert list(read_records(io.BytesIO(streamed))) == [data]


def test_one_byte_chunks() -> None:
    data = b"ab" + MAGIC_WORD * 2 + b"cd" + MAGIC_WORD + b"e"
    scanner = LayoutScanner()
    for byte in data:
        scanner.feed(bytes([byte]))
    assert scanner.layout() == layout_of(data)
    assert b"".join(bytes(p) for p in frame([bytes([b]) for b in data], scanner.layout())) == (
        encode(data)
    )


def test_data_that_changed_between_passes_is_refused() -> None:
    layout = layout_of(b"12345678")
    with pytest.raises(RecordIOError, match="grew"):
        list(frame([b"123456789"], layout))
    with pytest.raises(RecordIOError, match="shrank"):
        list(frame([b"1234"], layout))


def test_records_over_the_length_field_are_refused() -> None:
    scanner = LayoutScanner()
    scanner._length = recordio.MAX_RECORD + 1
    with pytest.raises(RecordIOError, match="too large"):
        scanner.layout()


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"\x00\x00\x00\x00\x00\x00\x00\x00", "bad magic"),
        (MAGIC_WORD + b"\x05\x00", "inside a record header"),
        (MAGIC_WORD + struct.pack("<I", 5) + b"abc", "inside a record"),
        (MAGIC_WORD + struct.pack("<I", (2 << 29) | 0), "continuation flag"),
        (MAGIC_WORD + struct.pack("<I", (1 << 29) | 0), "inside a record header"),
        (MAGIC_WORD + struct.pack("<I", 7 << 29), "continuation flag"),
    ],
)
def test_malformed_streams(stream: bytes, message: str) -> None:
    with pytest.raises(RecordIOError, match=message):
        list(read_records(io.BytesIO(stream)))
