"""Transform input: objects gunzipped, split into records, and packed into request bodies."""

from __future__ import annotations

import gzip
import io
import random
import struct
import time
from collections.abc import Callable
from typing import BinaryIO

import pytest
from sagemaker import serializer_utils

from sagebrush.container import recordio
from sagebrush.jobs.transform.records import (
    MIB,
    Payload,
    RecordsError,
    RecordTooLarge,
    decompress,
    framing_for,
    pack,
    payload_limit,
    split_records,
)

MAGIC_WORD = struct.pack("<I", recordio.MAGIC)
# The sagemaker SDK's own RecordIO writer: an implementation independent of ours.
sdk_write_recordio: Callable[[BinaryIO, bytes], None] = serializer_utils._write_recordio


def crc32c_bitwise(data: bytes) -> int:
    """CRC-32C (Castagnoli), one bit at a time: independent of the crc32c package."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def tfrecord_frame(data: bytes) -> bytes:
    def masked(value: bytes) -> int:
        crc = crc32c_bitwise(value)
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked(length)) + data + struct.pack("<I", masked(data))


def naive_pack(framed: list[bytes], limit: int) -> list[tuple[int, int]]:
    """Greedy packing, one record at a time: the reference for the binary search."""
    bounds, start, size = [], 0, 0
    for index, frame in enumerate(framed):
        if size + len(frame) > limit:
            bounds.append((start, index))
            start, size = index, 0
        size += len(frame)
    if framed:
        bounds.append((start, len(framed)))
    return bounds


def test_the_bitwise_crc_is_crc32c() -> None:
    assert crc32c_bitwise(b"123456789") == 0xE3069283  # the standard check value


# -- decompress ---------------------------------------------------------------------------


def test_decompress_none_returns_the_object() -> None:
    assert decompress(b"\x1f\x8b not really", None) == b"\x1f\x8b not really"
    assert decompress(b"abc", "None") == b"abc"


def test_decompress_gzip_including_concatenated_members() -> None:
    assert decompress(gzip.compress(b"a,1\nb,2\n"), "Gzip") == b"a,1\nb,2\n"
    members = gzip.compress(b"a,1\n") + gzip.compress(b"b,2\n")
    assert decompress(members, "Gzip") == b"a,1\nb,2\n"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"a,1\nb,2\n", "Not a gzipped file"),
        (gzip.compress(b"a,1\nb,2\n" * 100)[:-6], "ended before the end-of-stream marker"),
    ],
)
def test_decompress_fails_on_data_that_is_not_gzip(data: bytes, why: str) -> None:
    with pytest.raises(RecordsError) as caught:
        decompress(data, "Gzip")
    assert str(caught.value).startswith(
        "CompressionType is Gzip but the object is not valid gzip data: "
    )
    assert why in str(caught.value)


def test_a_gzipped_object_splits_into_its_lines() -> None:
    data = decompress(gzip.compress(b"1,2\n3,4\n"), "Gzip")
    assert split_records(data, "Line") == [b"1,2", b"3,4"]


# -- SplitType None -----------------------------------------------------------------------


@pytest.mark.parametrize("split_type", [None, "None"])
def test_split_none_is_the_whole_object_even_empty(split_type: str | None) -> None:
    assert split_records(b"a\nb\n\n", split_type) == [b"a\nb\n\n"]
    assert split_records(b"", split_type) == [b""]


@pytest.mark.parametrize("strategy", ["SingleRecord", "MultiRecord"])
def test_an_unsplit_object_is_one_payload_whatever_the_strategy(strategy: str) -> None:
    data = b"a\nb\n"
    payloads = pack(split_records(data, None), strategy, 4, framing_for(None))
    assert payloads == [Payload(0, 1, b"a\nb\n")]


def test_an_unsplit_object_over_the_limit_fails() -> None:
    with pytest.raises(RecordTooLarge) as caught:
        pack([b"x" * (MIB + 1)], "MultiRecord", MIB, framing_for("None"))
    assert str(caught.value) == (
        f"the object is {MIB + 1} bytes, but MaxPayloadInMB=1 allows {MIB} bytes in one "
        "request; set SplitType to send it in records, or raise MaxPayloadInMB"
    )
    assert (caught.value.index, caught.value.size, caught.value.limit) == (0, MIB + 1, MIB)


def test_max_payload_zero_is_no_limit() -> None:
    assert payload_limit(0) is None
    assert payload_limit(6) == 6_291_456
    big = b"x" * (2 * MIB)
    assert pack([big], "SingleRecord", payload_limit(0), framing_for(None)) == [Payload(0, 1, big)]
    records = [b"a" * MIB, b"b" * MIB]
    assert pack(records, "MultiRecord", 0, framing_for("Line")) == [
        Payload(0, 2, b"a" * MIB + b"\n" + b"b" * MIB + b"\n")
    ]


# -- SplitType Line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "records"),
    [
        (b"1,a,2.50\n2,b,3\n", [b"1,a,2.50", b"2,b,3"]),
        (b"1,a\n2,b", [b"1,a", b"2,b"]),  # a final line without a terminator
        (b"1,a\r\n2,b\r\n", [b"1,a", b"2,b"]),
        (b"1,a\r\n2,b\n3,c\r\n4,d", [b"1,a", b"2,b", b"3,c", b"4,d"]),
        (b'{"a": 1}\n{"a": [1, 2]}\n', [b'{"a": 1}', b'{"a": [1, 2]}']),
        (b"x\ry\n", [b"x\ry"]),  # a lone CR is data
        (b"x\r", [b"x\r"]),  # so is a final CR that no LF follows
        (b"a\n\nb\n\r\n\n", [b"a", b"b"]),  # empty lines are not records
        (b"  \n\t\n", [b"  ", b"\t"]),  # blank but not empty: kept exactly
        (b"", []),
        (b"\n\n\r\n", []),
        (b"\xff\xfe\x00binary\x00\n", [b"\xff\xfe\x00binary\x00"]),
    ],
)
def test_split_lines(data: bytes, records: list[bytes]) -> None:
    assert split_records(data, "Line") == records


def test_single_record_sends_each_line_without_its_newline() -> None:
    records = split_records(b"1,a\r\n2,b\r\n", "Line")
    assert pack(records, "SingleRecord", 6 * MIB, framing_for("Line")) == [
        Payload(0, 1, b"1,a"),
        Payload(1, 2, b"2,b"),
    ]


def test_multi_record_sends_newline_terminated_lines() -> None:
    records = split_records(b"1,a\r\n\n2,b\r\n3,c", "Line")
    assert pack(records, "MultiRecord", 6 * MIB, framing_for("Line")) == [
        Payload(0, 3, b"1,a\n2,b\n3,c\n")
    ]


def test_line_packing_boundaries() -> None:
    # Each record takes its length plus a newline: 5, 3 and 2 bytes.
    records = [b"aaaa", b"bb", b"c"]
    line = framing_for("Line")
    assert pack(records, "MultiRecord", 8, line) == [
        Payload(0, 2, b"aaaa\nbb\n"),  # exactly at the limit
        Payload(2, 3, b"c\n"),
    ]
    assert pack(records, "MultiRecord", 7, line) == [  # one byte short of the pair
        Payload(0, 1, b"aaaa\n"),
        Payload(1, 3, b"bb\nc\n"),
    ]
    assert pack(records, "MultiRecord", 5, line) == [
        Payload(0, 1, b"aaaa\n"),  # a record exactly at the limit, alone
        Payload(1, 3, b"bb\nc\n"),
    ]


def test_a_line_one_byte_over_the_limit_fails_the_file() -> None:
    records = [b"ok", b"x" * 5, b"ok"]
    with pytest.raises(RecordTooLarge) as caught:
        pack(records, "MultiRecord", 5, framing_for("Line"))
    assert str(caught.value) == (
        "record 2 takes 6 bytes in a request, but MaxPayloadInMB allows 5 bytes; "
        "raise MaxPayloadInMB to at least the size of one record"
    )
    # A single record goes without its newline, so the same record fits.
    assert pack(records, "SingleRecord", 5, framing_for("Line"))[1] == Payload(1, 2, b"x" * 5)
    with pytest.raises(RecordTooLarge) as caught:
        pack([b"ok", b"x" * (MIB + 1)], "SingleRecord", MIB, framing_for("Line"))
    assert str(caught.value).startswith(
        f"record 2 takes {MIB + 1} bytes in a request, but MaxPayloadInMB=1 allows {MIB} bytes"
    )


def test_line_packing_matches_one_record_at_a_time() -> None:
    rng = random.Random(7)
    records = [b"r" * rng.randrange(0, 40) + b"%d" % i for i in range(2000)]
    line = framing_for("Line")
    for limit in (44, 45, 64, 100, 1000, 50_000):  # the longest record takes 44
        expected = naive_pack([record + b"\n" for record in records], limit)
        payloads = pack(records, "MultiRecord", limit, line)
        assert [(p.start, p.stop) for p in payloads] == expected
        assert [p.body for p in payloads] == [
            b"".join(record + b"\n" for record in records[start:stop]) for start, stop in expected
        ]
        assert all(len(p.body) <= limit for p in payloads)


def test_no_records_no_payloads() -> None:
    for strategy in ("SingleRecord", "MultiRecord"):
        assert pack([], strategy, 6 * MIB, framing_for("Line")) == []


def test_unknown_values_are_refused() -> None:
    with pytest.raises(ValueError, match="SplitType must be one of"):
        split_records(b"", "Lines")
    with pytest.raises(ValueError, match="SplitType must be one of"):
        framing_for("Csv")
    with pytest.raises(ValueError, match="BatchStrategy must be one of"):
        pack([b"a"], "MULTI_RECORD", 6, framing_for("Line"))
    with pytest.raises(ValueError, match="CompressionType must be one of"):
        decompress(b"", "Zip")


# -- SplitType RecordIO -------------------------------------------------------------------

RECORDIO_RECORDS = [
    b"",
    b"a",
    b"ab",
    b"abc",
    b"abcd",
    b"abcde",
    # 4-byte-aligned magic words are escaped by cutting the record in parts.
    b"head" + MAGIC_WORD + b"tail!",
    MAGIC_WORD + MAGIC_WORD,
    b"x" + MAGIC_WORD + b"yz",  # unaligned: not escaped
    bytes(range(256)) * 3,
]


def recordio_file(records: list[bytes]) -> bytes:
    out = io.BytesIO()
    for record in records:
        recordio.write_record(out, record)
    return out.getvalue()


def test_split_recordio_written_by_the_container_contract() -> None:
    assert split_records(recordio_file(RECORDIO_RECORDS), "RecordIO") == RECORDIO_RECORDS


def test_split_recordio_written_by_the_sagemaker_sdk() -> None:
    records = [b"one", b"four", b"seven!!", b"\x00" * 9]
    out = io.BytesIO()
    for record in records:
        sdk_write_recordio(out, record)
    assert split_records(out.getvalue(), "RecordIO") == records


def test_recordio_single_record_drops_the_framing_and_padding() -> None:
    data = recordio_file(RECORDIO_RECORDS)
    payloads = pack(split_records(data, "RecordIO"), "SingleRecord", MIB, framing_for("RecordIO"))
    assert payloads == [Payload(i, i + 1, r) for i, r in enumerate(RECORDIO_RECORDS)]


def test_recordio_multi_record_keeps_the_frames_as_written() -> None:
    data = recordio_file(RECORDIO_RECORDS)
    records = split_records(data, "RecordIO")
    assert pack(records, "MultiRecord", MIB, framing_for("RecordIO")) == [
        Payload(0, len(records), data)
    ]
    framed = [recordio_file([record]) for record in RECORDIO_RECORDS]
    for limit in (max(map(len, framed)), 800, 820, 1600):
        expected = naive_pack(framed, limit)
        payloads = pack(records, "MultiRecord", limit, framing_for("RecordIO"))
        assert [(p.start, p.stop) for p in payloads] == expected
        assert [p.body for p in payloads] == [b"".join(framed[a:b]) for a, b in expected]


def test_a_recordio_record_over_the_limit_counts_its_frame() -> None:
    records = [b"abcde"]  # 8 bytes of header, 5 of data, 3 of padding
    assert pack(records, "MultiRecord", 16, framing_for("RecordIO"))[0].count == 1
    with pytest.raises(RecordTooLarge, match="record 1 takes 16 bytes"):
        pack(records, "MultiRecord", 15, framing_for("RecordIO"))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not recordio at all", "bad magic word 0x20746f6e"),
        (recordio_file([b"abcdefgh"])[:-2], "the stream ends inside a record"),
        (recordio_file([b"abc"]) + MAGIC_WORD, "the stream ends inside a record header"),
    ],
)
def test_corrupt_recordio_fails_the_file(data: bytes, why: str) -> None:
    with pytest.raises(RecordsError) as caught:
        split_records(data, "RecordIO")
    assert str(caught.value) == f"SplitType is RecordIO but the object is not: {why}"


# -- SplitType TFRecord -------------------------------------------------------------------

TF_RECORDS = [b"", b"a", b"example one", bytes(range(256)) * 5]


def test_split_tfrecord() -> None:
    data = b"".join(map(tfrecord_frame, TF_RECORDS))
    assert split_records(data, "TFRecord") == TF_RECORDS
    assert split_records(b"", "TFRecord") == []


def test_tfrecord_single_and_multi_record_bodies() -> None:
    framed = [tfrecord_frame(record) for record in TF_RECORDS]
    data = b"".join(framed)
    records = split_records(data, "TFRecord")
    tf = framing_for("TFRecord")
    assert pack(records, "SingleRecord", MIB, tf) == [
        Payload(i, i + 1, r) for i, r in enumerate(TF_RECORDS)
    ]
    assert pack(records, "MultiRecord", MIB, tf) == [Payload(0, 4, data)]
    # 16 bytes of framing per record: 16 + 17 + 27 = 60 for the first three.
    assert pack(records[:3], "MultiRecord", 60, tf) == [Payload(0, 3, b"".join(framed[:3]))]
    assert pack(records[:3], "MultiRecord", 59, tf) == [
        Payload(0, 2, b"".join(framed[:2])),
        Payload(2, 3, framed[2]),
    ]
    assert pack(records, "MultiRecord", 1296, tf) == [
        Payload(0, 3, b"".join(framed[:3])),
        Payload(3, 4, framed[3]),
    ]
    with pytest.raises(RecordTooLarge, match="record 4 takes 1296 bytes"):
        pack(records, "MultiRecord", 1295, tf)


def corrupt(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        # Offsets into the second record, which starts at byte 16 (after the empty one).
        (lambda d: corrupt(d, 16 + 12 + 0), "the CRC of its data does not match"),
        (lambda d: corrupt(d, 16 + 12 + 1), "the CRC of its data does not match"),
        (lambda d: corrupt(d, 16 + 8), "the CRC of its length does not match"),
        (lambda d: corrupt(d, 16 + 0), "the CRC of its length does not match"),
        (lambda d: d[: 16 + 5], "the object ends inside its header"),
        (lambda d: d[: 16 + 12 + 1], "the object ends inside its 1 bytes of data"),
        (lambda d: d[: 16 + 12 + 1 + 3], "the object ends inside its 1 bytes of data"),
    ],
)
def test_corrupt_tfrecord_fails_the_file(damage: Callable[[bytes], bytes], why: str) -> None:
    data = b"".join(map(tfrecord_frame, [b"", b"a", b"b"]))
    with pytest.raises(RecordsError) as caught:
        split_records(damage(data), "TFRecord")
    assert str(caught.value) == f"SplitType is TFRecord but record 2 is corrupt: {why}"


# -- Speed --------------------------------------------------------------------------------


def test_a_million_lines_split_and_pack_in_well_under_two_seconds() -> None:
    data = b"".join(b"%d,0.25,7,label\n" % i for i in range(1_000_000))
    started = time.perf_counter()
    records = split_records(data, "Line")
    payloads = pack(records, "MultiRecord", payload_limit(6), framing_for("Line"))
    elapsed = time.perf_counter() - started
    assert len(records) == 1_000_000
    assert b"".join(p.body for p in payloads) == data
    assert all(len(p.body) <= 6 * MIB for p in payloads)
    assert [p.start for p in payloads[1:]] == [p.stop for p in payloads[:-1]]
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_lines_cut_straight_from_the_bytes_pack_as_records_do() -> None:
    import random

    from sagebrush.jobs.transform.records import pack_lines

    rng = random.Random(11)
    lines = [b"x" * rng.randrange(1, 40) for _ in range(2000)]
    data = b"\n".join(lines) + b"\n"
    for limit in (40, 41, 97, 1000, 10_000, None):
        fast = pack_lines(data, limit)
        slow = pack(split_records(data, "Line"), "MultiRecord", limit, framing_for("Line"))
        assert fast == slow
    assert pack_lines(data.rstrip(b"\n"), 97) == pack(
        split_records(data, "Line"), "MultiRecord", 97, framing_for("Line")
    )
    # What the general path must decide: carriage returns, empty lines, a line too long.
    assert pack_lines(b"a\r\nb\n", None) is None
    assert pack_lines(b"a\n\nb\n", None) is None
    assert pack_lines(b"a\n" + b"b" * 50 + b"\n", 10) is None
