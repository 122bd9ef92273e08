"""Search's SearchExpression: property names, parsing, and matching described records.

A search record is a resource as Search returns it (``TrainingJob``, ``Endpoint``, ...),
turned by :func:`document_of` into a *document*: the same nested dicts, with timestamps as
``datetime`` and tag lists as ``{key: value}`` maps so ``Tags.<key>`` can find them.
Property names are dotted paths into it, typed by the record's botocore shape
(:class:`RecordSchema`): the type decides which operators apply and how ``Value`` is read.
Lists are transparent — ``InputDataConfig.ChannelName`` is true of a training job when any
channel's name matches; a nested filter asks that one element match all of its filters.

Everything here is a pure function of its arguments; bad input raises ValidationException.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sagebrush.services.sagemaker._common import validation

# "The maximum number of recursive SubExpressions, NestedFilters, and Filters that can be
# included in a SearchExpression object is 50." (SearchRequest.SearchExpression)
MAX_ELEMENTS = 50
CONTAINS_LIMIT = "'CONTAINS' operator usage limit of 1 exceeded."

_NUMBERS = ("integer", "long", "short", "byte", "float", "double")
_RANGE = {
    "GreaterThan": operator.gt,
    "GreaterThanOrEqualTo": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqualTo": operator.le,
}
_OPERATORS = frozenset({*_RANGE, "Equals", "NotEquals", "Contains", "Exists", "NotExists", "In"})


class Kind(StrEnum):
    """How a property's values compare."""

    TEXT = "text"
    NUMBER = "numeric"
    TIMESTAMP = "timestamp"
    BOOLEAN = "Boolean"
    # Strings that compare as numbers when both sides are numbers (SageMaker's Filter docs).
    HYPERPARAMETER = "hyperparameter"
    # A structure, list or map itself: it can only exist or not.
    OBJECT = "object"


@dataclass(frozen=True)
class Property:
    """A property name resolved against a record: the keys to walk and its kind."""

    name: str
    path: tuple[str, ...]
    kind: Kind


@dataclass(frozen=True)
class RecordSchema:
    """The property names a resource's search records have, from the record's shape.

    ``keyed`` names top-level properties that are maps outside the shape (a training job's
    ``Metrics.<name>``) and the kind of their values. ``inner`` is a member that names not
    found at the top level are looked up under (``Model`` for model records, so ``ModelName``
    means ``Model.ModelName``).
    """

    shape: Any
    keyed: Mapping[str, Kind] = field(default_factory=dict)
    inner: str | None = None

    def lookup(self, name: str) -> Property | None:
        segments = name.split(".")
        for key, kind in self.keyed.items():
            if segments[0].lower() == key.lower():
                rest = ".".join(segments[1:])
                if not rest:
                    return Property(name, (key,), Kind.OBJECT)
                return Property(name, (key, rest), kind)
        found = _walk(self.shape, segments)
        if found is None and self.inner is not None:
            found = _walk(self.shape, [self.inner, *segments])
        if found is None:
            return None
        path, kind = found
        return Property(name, path, kind)

    def require(self, name: str, resource: str) -> Property:
        found = self.lookup(name)
        if found is None:
            raise validation(f"'{name}' is not a valid property name for the {resource} resource.")
        return found


def _walk(shape: Any, segments: Sequence[str]) -> tuple[tuple[str, ...], Kind] | None:
    if not segments:
        return (), _leaf_kind(shape)
    kind = shape.type_name
    if kind == "list":
        return _walk(shape.member, segments)
    if kind == "map":
        value = shape.value
        if value.type_name in ("structure", "list", "map"):
            below = _walk(value, segments[1:])
            return None if below is None else ((segments[0], *below[0]), below[1])
        # Keys may hold dots (hyperparameter and tag names do): the rest is one key.
        key = ".".join(segments)
        if shape.name == "HyperParameters":
            return (key,), Kind.HYPERPARAMETER
        return (key,), _leaf_kind(value)
    if kind != "structure":
        return None
    member = _member(shape, segments[0])
    if member is None:
        return None
    target = shape.members[member]
    if _is_tag_list(target):
        if len(segments) == 1:
            return (member,), Kind.OBJECT
        return (member, ".".join(segments[1:])), Kind.TEXT
    below = _walk(target, segments[1:])
    return None if below is None else ((member, *below[0]), below[1])


def _member(shape: Any, segment: str) -> str | None:
    if segment in shape.members:
        return segment
    # SageMaker's own suggestions spell property names in lower case.
    lowered = {name.lower(): name for name in shape.members}
    return lowered.get(segment.lower())


def _leaf_kind(shape: Any) -> Kind:
    kind = shape.type_name
    if kind == "list":
        member = _leaf_kind(shape.member)
        return member if shape.member.type_name not in ("structure", "map") else Kind.OBJECT
    if kind in ("structure", "map"):
        return Kind.OBJECT
    if kind in _NUMBERS:
        return Kind.NUMBER
    if kind == "boolean":
        return Kind.BOOLEAN
    if kind == "timestamp":
        return Kind.TIMESTAMP
    return Kind.TEXT


def _is_tag_list(shape: Any) -> bool:
    return bool(
        shape.type_name == "list"
        and shape.member.type_name == "structure"
        and set(shape.member.members) == {"Key", "Value"}
    )


# --- documents ------------------------------------------------------------------------------


def document_of(shape: Any, value: Any) -> Any:
    """``value`` (a record as the wire shows it) as a document: members the shape lacks
    dropped, timestamps as aware datetimes, tag lists as maps."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            return None
        out: dict[str, Any] = {}
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None or item is None:
                continue
            if _is_tag_list(member):
                out[name] = {t["Key"]: t.get("Value", "") for t in item}
            else:
                out[name] = document_of(member, item)
        return out
    if kind == "list":
        return [document_of(shape.member, item) for item in value]
    if kind == "map":
        return {key: document_of(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return _as_time(value)
    return value


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return parse_time(value)
    return None


def parse_time(text: str) -> datetime | None:
    """An ISO-8601 date-time (naive means UTC) or epoch seconds; None if it is neither."""
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def resolve(document: Any, path: Sequence[str]) -> list[Any]:
    """The values at ``path``; a list anywhere on the way (or at the end) fans out."""
    values = [document]
    for key in path:
        step: list[Any] = []
        for node in _flatten(values):
            if isinstance(node, Mapping) and node.get(key) is not None:
                step.append(node[key])
        values = step
    return list(_flatten(values))


def _flatten(values: Iterable[Any]) -> Iterable[Any]:
    for value in values:
        if isinstance(value, list):
            yield from _flatten(value)
        elif value is not None:
            yield value


# --- expressions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One Filter, its Value read as the property's kind."""

    prop: Property
    operator: str
    operand: Any
    path: tuple[str, ...]  # where to look: the property's path, or below a nested element

    def holds(self, document: Any) -> bool:
        values = resolve(document, self.path)
        if self.operator == "Exists":
            return bool(values)
        if self.operator == "NotExists":
            return not values
        if self.operator == "NotEquals":
            # Like the search index's must-not: a record without the property matches too.
            return not any(_compare("Equals", self.prop.kind, v, self.operand) for v in values)
        return any(_compare(self.operator, self.prop.kind, v, self.operand) for v in values)


@dataclass(frozen=True)
class Nested:
    """NestedFilters: one element of ``path`` must satisfy every condition."""

    path: tuple[str, ...]
    conditions: tuple[Condition, ...]

    def holds(self, document: Any) -> bool:
        return any(
            all(c.holds(element) for c in self.conditions)
            for element in resolve(document, self.path)
        )


@dataclass(frozen=True)
class Expression:
    conditions: tuple[Condition, ...]
    nested: tuple[Nested, ...]
    subexpressions: tuple[Expression, ...]
    any_of: bool

    def holds(self, document: Any) -> bool:
        parts: list[Callable[[Any], bool]] = [
            *(c.holds for c in self.conditions),
            *(n.holds for n in self.nested),
            *(s.holds for s in self.subexpressions),
        ]
        combine = any if self.any_of else all
        return combine(part(document) for part in parts)


def parse(expression: Mapping[str, Any], schema: RecordSchema, resource: str) -> Expression:
    """A SearchExpression as botocore's model shapes it, checked against ``schema``."""
    elements = _count(expression)
    if elements > MAX_ELEMENTS:
        raise validation(
            f"The SearchExpression has {elements} SubExpressions, NestedFilters and Filters "
            f"in all; the maximum is {MAX_ELEMENTS}."
        )
    if _contains_count(expression) > 1:
        raise validation(CONTAINS_LIMIT)
    return _parse(expression, schema, resource)


def _parse(expression: Mapping[str, Any], schema: RecordSchema, resource: str) -> Expression:
    filters = expression.get("Filters") or []
    nested = expression.get("NestedFilters") or []
    subs = expression.get("SubExpressions") or []
    if not (filters or nested or subs):
        raise validation(
            "A SearchExpression must contain at least one of Filters, NestedFilters or "
            "SubExpressions."
        )
    return Expression(
        tuple(_condition(f, schema, resource) for f in filters),
        tuple(_nested(n, schema, resource) for n in nested),
        tuple(_parse(s, schema, resource) for s in subs),
        expression.get("Operator") == "Or",
    )


def _nested(spec: Mapping[str, Any], schema: RecordSchema, resource: str) -> Nested:
    parent = schema.require(spec["NestedPropertyName"], resource)
    if parent.kind is not Kind.OBJECT:
        raise validation(
            f"NestedPropertyName '{parent.name}' must name a list or structure property."
        )
    conditions = []
    for item in spec["Filters"]:
        condition = _condition(item, schema, resource)
        inside = condition.prop.path[: len(parent.path)] == parent.path
        if not inside or len(condition.prop.path) == len(parent.path):
            raise validation(
                f"The filter name '{condition.prop.name}' of a NestedFilters must start with "
                f"its NestedPropertyName '{parent.name}.'."
            )
        conditions.append(
            Condition(
                condition.prop,
                condition.operator,
                condition.operand,
                condition.prop.path[len(parent.path) :],
            )
        )
    return Nested(parent.path, tuple(conditions))


def _condition(spec: Mapping[str, Any], schema: RecordSchema, resource: str) -> Condition:
    prop = schema.require(spec["Name"], resource)
    value = spec.get("Value")
    # "If you specify a Value, but not an Operator, SageMaker uses the equals operator."
    op = spec.get("Operator") or ("Equals" if value is not None else None)
    if op is None:
        raise validation(f"Filter '{prop.name}' needs an Operator or a Value.")
    if op not in _OPERATORS:
        raise validation(f"'{op}' is not a valid Operator.")
    if op in ("Exists", "NotExists"):
        return Condition(prop, op, None, prop.path)
    if value is None:
        raise validation(f"The {op} operator of filter '{prop.name}' needs a Value.")
    return Condition(prop, op, _operand(prop, op, value), prop.path)


def _operand(prop: Property, op: str, value: str) -> Any:
    kind = prop.kind

    def unsupported() -> Exception:
        return validation(
            f"The {op} operator is not supported for the {kind} property '{prop.name}'."
        )

    if kind is Kind.OBJECT:
        raise validation(
            f"'{prop.name}' is a list or structure: filter on one of its properties, or use "
            "Exists or NotExists."
        )
    if op in ("Contains", "In"):
        if kind not in (Kind.TEXT, Kind.HYPERPARAMETER):
            raise unsupported()
        if op == "In":
            return frozenset(part.strip() for part in value.split(","))
        return value.lower()
    if kind is Kind.TEXT:
        if op in _RANGE:
            raise unsupported()
        return value
    if kind is Kind.BOOLEAN:
        if op in _RANGE:
            raise unsupported()
        if value.lower() not in ("true", "false"):
            raise validation(f"'{value}' is not a Boolean value for property '{prop.name}'.")
        return value.lower() == "true"
    if kind is Kind.TIMESTAMP:
        moment = parse_time(value)
        if moment is None:
            raise validation(
                f"'{value}' is not a timestamp for property '{prop.name}': use an ISO 8601 "
                "date-time (YYYY-mm-ddTHH:MM:SS) or epoch seconds."
            )
        return moment
    number = _number(value)
    if kind is Kind.HYPERPARAMETER:
        if number is None and op in _RANGE:
            raise validation(
                f"'{value}' is not a numeric value for the {op} operator on '{prop.name}'."
            )
        return (value, number, _is_integer(value))
    if number is None:
        raise validation(f"'{value}' is not a numeric value for property '{prop.name}'.")
    return number


def _compare(op: str, kind: Kind, value: Any, operand: Any) -> bool:
    if op == "In":
        return str(value) in operand
    if op == "Contains":
        return operand in str(value).lower()
    if kind is Kind.HYPERPARAMETER:
        text, number, integer = operand
        mine = _number(str(value))
        if number is None or mine is None:
            return op == "Equals" and str(value) == text
        # "If the specified Value is an integer, the decimal hyperparameter values are
        # treated as integers." (SageMaker's Filter docs)
        if integer:
            mine = float(math.trunc(mine))
        return mine == number if op == "Equals" else bool(_RANGE[op](mine, number))
    if kind is Kind.NUMBER:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        value = float(value)
    elif kind is Kind.TIMESTAMP:
        if not isinstance(value, datetime):
            return False
    elif kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            return False
    else:
        value = str(value)
    return value == operand if op == "Equals" else bool(_RANGE[op](value, operand))


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _is_integer(text: str) -> bool:
    try:
        int(text.strip())
    except ValueError:
        return False
    return True


def _count(expression: Mapping[str, Any]) -> int:
    nested = expression.get("NestedFilters") or []
    subs = expression.get("SubExpressions") or []
    return (
        len(expression.get("Filters") or [])
        + sum(1 + len(n.get("Filters") or []) for n in nested)
        + sum(1 + _count(s) for s in subs)
    )


def _contains_count(expression: Mapping[str, Any]) -> int:
    filters = [
        *(expression.get("Filters") or []),
        *(f for n in expression.get("NestedFilters") or [] for f in n.get("Filters") or []),
    ]
    contains = sum(1 for f in filters if f.get("Operator") == "Contains")
    return contains + sum(_contains_count(s) for s in expression.get("SubExpressions") or [])


# --- sorting --------------------------------------------------------------------------------


def sort_order(documents: Sequence[Any], prop: Property, descending: bool) -> list[int]:
    """Positions of ``documents`` in SortBy order; those without the property go last in
    either direction, ties keep their given order. A list property sorts on its least
    (ascending) or greatest (descending) value."""
    if prop.kind is Kind.OBJECT:
        raise validation(f"SortBy '{prop.name}' is a list or structure; it cannot be sorted.")
    keyed: list[tuple[Any, int]] = []
    missing: list[int] = []
    for position, document in enumerate(documents):
        keys = [k for k in (_sort_key(prop.kind, v) for v in resolve(document, prop.path)) if k]
        if not keys:
            missing.append(position)
            continue
        keyed.append((max(keys) if descending else min(keys), position))
    keyed.sort(key=lambda item: item[0], reverse=descending)
    return [position for _, position in keyed] + missing


def _sort_key(kind: Kind, value: Any) -> tuple[Any, ...] | None:
    if kind is Kind.NUMBER:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return (float(value),) if ok else None
    if kind is Kind.TIMESTAMP:
        return (value.timestamp(),) if isinstance(value, datetime) else None
    if kind is Kind.BOOLEAN:
        return (bool(value),) if isinstance(value, bool) else None
    if kind is Kind.HYPERPARAMETER:
        number = _number(str(value))
        # Numeric values compare as numbers and sort before the others.
        return (0, number, "") if number is not None else (1, 0.0, str(value))
    return (str(value),)
