"""The JSONPath subset batch transform's DataProcessing understands, parsed and evaluated.

SageMaker supports (DG: batch-transform-data-processing): ``$`` first, ``.name``, ``*``
(``.*`` or ``[*]``), ``['a','b']``, ``[n]`` and ``[n,m,...]`` with negative indexes, and
``[start:end]`` with either bound optional — its end INCLUSIVE: ``$[1:4]`` is the 2nd to
the 5th element. The API's own example ``$[0,5:]`` mixes indexes and slices in one bracket.
Anything else (``..``, filters, scripts, slice steps, nested paths inside brackets) is
refused when the path is parsed, so a job with one fails at create time.

Results follow Jayway JsonPath, the implementation the DG points to: a path of single keys
and single indexes is *definite* and yields one value (a miss is an error); ``*``,
slices, several indexes, and several keys before the last step make it indefinite, and it
yields the list of what matched. Several keys as the last step merge into one object of
those present (``$['id','SageMakerOutput']``). Unlike Jayway, an index out of range is an
error wherever it is written — the API says an OutputFilter index "not within the dimension
size of the joined dataset" fails — while slice bounds are clamped to the array.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class InvalidPath(ValueError):
    """A JSONPath outside the subset; the message names the expression."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        self.message = f'Invalid JsonPath "{text}": {reason}'
        super().__init__(self.message)


class NoMatch(Exception):
    """A definite step found nothing to select, or an index was out of range."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Keys:
    """``.name`` (one key) or ``['a','b']`` (one or more)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Wildcard:
    """``*``: every value of an object, every element of an array."""


@dataclass(frozen=True)
class Slice:
    """``[start:end]``; ``end`` is inclusive, ``None`` is the array's first / last element."""

    start: int | None
    end: int | None


@dataclass(frozen=True)
class Indexes:
    """``[n]``, ``[n,m]``, ``[a:b]`` and unions of them such as ``[0,5:]``."""

    items: tuple[int | Slice, ...]

    @property
    def single(self) -> bool:
        return len(self.items) == 1 and isinstance(self.items[0], int)


Step = Keys | Wildcard | Indexes


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    @property
    def is_root(self) -> bool:
        """``$``: selects the whole value, so applying it changes nothing."""
        return not self.steps

    def select(self, root: object) -> object:
        """Apply the path to a parsed JSON value (a CSV row is a list of its fields)."""
        matches = [root]
        definite = True
        last = len(self.steps) - 1
        for position, step in enumerate(self.steps):
            found: list[object] = []
            if isinstance(step, Keys) and len(step.names) == 1:
                name = step.names[0]
                for value in matches:
                    if isinstance(value, dict) and name in value:
                        found.append(value[name])
                    elif definite:
                        raise NoMatch(f"no key '{name}' in {_kind(value)}")
            elif isinstance(step, Keys) and position == last:
                for value in matches:
                    if isinstance(value, dict):
                        found.append({n: value[n] for n in step.names if n in value})
                    elif definite:
                        raise NoMatch(f"expected an object, found {_kind(value)}")
            elif isinstance(step, Keys):
                for value in matches:
                    if isinstance(value, dict):
                        found.extend(value[n] for n in step.names if n in value)
                    elif definite:
                        raise NoMatch(f"expected an object, found {_kind(value)}")
                definite = False
            elif isinstance(step, Wildcard):
                definite = False
                for value in matches:
                    if isinstance(value, dict):
                        found.extend(value.values())
                    elif isinstance(value, list):
                        found.extend(value)
            else:
                definite = definite and step.single
                for value in matches:
                    if isinstance(value, list):
                        found.extend(_pick(value, step.items))
                    elif definite:
                        raise NoMatch(f"expected an array, found {_kind(value)}")
            matches = found
        return matches[0] if definite else matches


def _pick(array: list[object], items: tuple[int | Slice, ...]) -> list[object]:
    size = len(array)
    picked: list[object] = []
    for item in items:
        if isinstance(item, int):
            if not -size <= item < size:
                raise NoMatch(f"index {item} is out of range for an array of {size} elements")
            picked.append(array[item])
            continue
        start = 0 if item.start is None else item.start
        end = size - 1 if item.end is None else item.end
        start = max(start + size if start < 0 else start, 0)
        end = min(end + size if end < 0 else end, size - 1)
        if start <= end:
            picked.extend(array[start : end + 1])
    return picked


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a scalar value"


def parse_path(text: str) -> JsonPath:
    """Parse one InputFilter / OutputFilter expression, or raise :class:`InvalidPath`."""
    return JsonPath(text, tuple(_Parser(text).steps()))


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char in "-_"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, why: str) -> InvalidPath:
        return InvalidPath(self.text, why)

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def steps(self) -> list[Step]:
        if not self.text.startswith("$"):
            raise self.fail('A JsonPath must start with "$"')
        self.at = 1
        steps: list[Step] = []
        while self.at < len(self.text):
            char = self.peek()
            if char == "[":
                steps.append(self.bracket())
            elif char == ".":
                steps.append(self.dot())
            else:
                raise self.fail(f'Unexpected "{char}" at position {self.at}')
        return steps

    def dot(self) -> Step:
        self.at += 1
        char = self.peek()
        if char == ".":
            raise self.fail('Deep scan ("..") is not supported')
        if char == "*":
            self.at += 1
            return Wildcard()
        if char == "[":  # the DG's own form: $.field1.['child1','child2']
            return self.bracket()
        start = self.at
        while self.at < len(self.text) and _is_name_char(self.text[self.at]):
            self.at += 1
        if self.at == start:
            raise self.fail(f'Expected a name after "." at position {start}')
        return Keys((self.text[start : self.at],))

    def bracket(self) -> Step:
        self.at += 1
        self.spaces()
        char = self.peek()
        if char == "*":
            self.at += 1
            step: Step = Wildcard()
        elif char == "'":
            step = Keys(self.separated(self.quoted))
        else:
            step = Indexes(self.separated(self.index_or_slice))
        self.spaces()
        if self.peek() != "]":
            raise self.fail(f'Expected "]" at position {self.at}')
        self.at += 1
        return step

    def separated(self, item: Callable[[], T]) -> tuple[T, ...]:
        items = [item()]
        self.spaces()
        while self.peek() == ",":
            self.at += 1
            self.spaces()
            items.append(item())
            self.spaces()
        return tuple(items)

    def quoted(self) -> str:
        if self.peek() != "'":
            raise self.fail(f"Expected a quoted name at position {self.at}")
        end = self.text.find("'", self.at + 1)
        if end < 0:
            raise self.fail(f"Unterminated quoted name at position {self.at}")
        name = self.text[self.at + 1 : end]
        if not name:
            raise self.fail(f"Empty name at position {self.at}")
        if "." in name or "[" in name:
            raise self.fail(f"Nested paths inside brackets are not supported ('{name}')")
        self.at = end + 1
        return name

    def index_or_slice(self) -> int | Slice:
        start = self.integer()
        self.spaces()
        if self.peek() != ":":
            if start is None:
                raise self.fail(f"Expected an index at position {self.at}")
            return start
        self.at += 1
        self.spaces()
        end = self.integer()
        self.spaces()
        if self.peek() == ":":
            raise self.fail("Slice steps are not supported")
        return Slice(start, end)

    def integer(self) -> int | None:
        start = self.at
        if self.peek() == "-":
            self.at += 1
        while self.peek().isdigit() and self.peek().isascii():
            self.at += 1
        digits = self.text[start : self.at]
        if digits in ("", "-"):
            self.at = start
            return None
        return int(digits)

    def spaces(self) -> None:
        while self.peek() == " ":
            self.at += 1
