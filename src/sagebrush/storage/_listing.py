"""Listing keys in byte order with prefix, delimiter roll-up and an exclusive start point.

Works on any ``fetch(lower, inclusive, upper, limit)`` that returns rows ordered by key
(UTF-8 bytes), so the database does the ordering over its index. A common prefix is skipped
in one jump (the next fetch starts after everything that rolls up into it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class _Keyed(Protocol):
    @property
    def key(self) -> bytes: ...


Row = TypeVar("Row", bound=_Keyed)
Fetch = Callable[[bytes, bool, bytes | None, int], Sequence[Row]]

FETCH_BATCH = 1000


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    common_prefixes: list[bytes]
    is_truncated: bool
    next_marker: bytes | None


def successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def list_page(
    fetch: Fetch[Row],
    *,
    prefix: bytes,
    delimiter: bytes | None,
    after: bytes | None,
    max_keys: int,
) -> Page[Row]:
    rows: list[Row] = []
    prefixes: list[bytes] = []
    if max_keys <= 0:
        return Page(rows, prefixes, False, None)
    upper = successor(prefix) if prefix else None
    lower, inclusive = prefix, True
    if after is not None and after >= prefix:
        lower, inclusive = after, False
    last: bytes | None = None
    batch = min(max_keys + 1, FETCH_BATCH)
    while upper is None or lower < upper:
        fetched = fetch(lower, inclusive, upper, batch)
        jumped = False
        for row in fetched:
            key = row.key
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if delimiter and cut >= 0:
                common = key[: cut + len(delimiter)]
                if after is None or common > after:
                    if len(rows) + len(prefixes) == max_keys:
                        return Page(rows, prefixes, True, last)
                    prefixes.append(common)
                    last = common
                following = successor(common)
                if following is None:
                    return Page(rows, prefixes, False, last)
                lower, inclusive, jumped = following, True, True
                break
            if len(rows) + len(prefixes) == max_keys:
                return Page(rows, prefixes, True, last)
            rows.append(row)
            last = key
            lower, inclusive = key, False
        if not jumped and len(fetched) < batch:
            break
    return Page(rows, prefixes, False, last)
