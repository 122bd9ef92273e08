"""Streaming digests: MD5 for ETags plus the checksum algorithms S3 clients ask for.

Checksum values are kept as S3 writes them: base64 of the big-endian digest bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import crc32c as _crc32c
from awscrt import checksums as _crt_checksums

_CRC_POLY = {"CRC32": 0xEDB88320, "CRC32C": 0x82F63B78, "CRC64NVME": 0x9A6C9329AC4BC9B5}
_CRC_WIDTH = {"CRC32": 32, "CRC32C": 32, "CRC64NVME": 64}
_HASHLIB = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512", "MD5": "md5"}


def _crc32(data: Any, value: int) -> int:
    return zlib.crc32(data, value)


def _crc32c_update(data: Any, value: int) -> int:
    return int(_crc32c.crc32c(data, value))


def _crc64nvme(data: Any, value: int) -> int:
    return int(_crt_checksums.crc64nvme(data, value))


_CRC_UPDATE: dict[str, Callable[[Any, int], int]] = {
    "CRC32": _crc32,
    "CRC32C": _crc32c_update,
    "CRC64NVME": _crc64nvme,
}

SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(_CRC_UPDATE) | frozenset(_HASHLIB)
CRC_ALGORITHMS: frozenset[str] = frozenset(_CRC_UPDATE)


def digest_length(algorithm: str) -> int:
    if algorithm in _CRC_WIDTH:
        return _CRC_WIDTH[algorithm] // 8
    return hashlib.new(_HASHLIB[algorithm]).digest_size


def decode_checksum(algorithm: str, value: str) -> bytes | None:
    """The raw digest of a base64 checksum value, or None when it is malformed."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == digest_length(algorithm) else None


class Hasher:
    """MD5 of everything written, plus the requested checksum algorithms.

    ``update`` is called from a worker thread on large buffers; hashlib, zlib and crc32c
    release the GIL for those.
    """

    def __init__(self, algorithms: Iterable[str] = ()) -> None:
        algorithms = set(algorithms)
        self.size = 0
        self._md5 = hashlib.md5()
        self._crcs: dict[str, int] = {}
        self._hashes: dict[str, Any] = {}
        for algorithm in algorithms:
            if algorithm in _CRC_UPDATE:
                self._crcs[algorithm] = 0
            elif algorithm in _HASHLIB and algorithm != "MD5":
                self._hashes[algorithm] = hashlib.new(_HASHLIB[algorithm])
        self._want_md5 = "MD5" in algorithms

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.size += len(data)
        self._md5.update(data)
        for algorithm, value in self._crcs.items():
            self._crcs[algorithm] = _CRC_UPDATE[algorithm](data, value)
        for h in self._hashes.values():
            h.update(data)

    @property
    def md5(self) -> bytes:
        return self._md5.digest()

    def checksums(self) -> dict[str, str]:
        out = {
            algorithm: _b64(value.to_bytes(_CRC_WIDTH[algorithm] // 8, "big"))
            for algorithm, value in self._crcs.items()
        }
        out.update({algorithm: _b64(h.digest()) for algorithm, h in self._hashes.items()})
        if self._want_md5:
            out["MD5"] = _b64(self.md5)
        return out


def composite_checksum(algorithm: str, part_checksums: list[str]) -> str:
    """S3's COMPOSITE checksum: the checksum of the concatenated raw part checksums, ``-N``."""
    raw = b"".join(base64.b64decode(value) for value in part_checksums)
    hasher = Hasher([algorithm])
    hasher.update(raw)
    return f"{hasher.checksums()[algorithm]}-{len(part_checksums)}"


def combine_crc(algorithm: str, parts: list[tuple[str, int]]) -> str:
    """The FULL_OBJECT CRC of the concatenation, from each part's (checksum, size)."""
    width = _CRC_WIDTH[algorithm]
    crc = 0
    for value, size in parts:
        part = int.from_bytes(base64.b64decode(value), "big")
        crc = _crc_combine(crc, part, size, _CRC_POLY[algorithm], width)
    return _b64(crc.to_bytes(width // 8, "big"))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    row = 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def _crc_combine(crc1: int, crc2: int, len2: int, poly: int, width: int) -> int:
    """zlib's crc32_combine, for any reflected CRC with all-ones init and final xor."""
    if len2 == 0:
        return crc1
    odd = [poly] + [1 << n for n in range(width - 1)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2
