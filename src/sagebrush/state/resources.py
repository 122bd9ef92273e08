"""The store of SageMaker resources: records with a status, an event log and tags.

It knows nothing of which statuses exist or may follow one another: ``jobs.lifecycle``
owns that and writes through :meth:`ResourceStore.change`, a compare-and-set on the
current status so two writers (a stop request and a finishing job) cannot both win.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sagebrush.state.db import Database
from sagebrush.state.resources_tables import EventRow, ResourceRow, TagRow


class ResourceExists(Exception):
    def __init__(self, arn: str) -> None:
        super().__init__(arn)
        self.arn = arn


class ResourceMissing(Exception):
    pass


@dataclass(frozen=True)
class Event:
    time: float
    status: str
    secondary_status: str | None
    message: str


@dataclass(frozen=True)
class Resource:
    id: int
    account_id: str
    region: str
    kind: str
    name: str
    arn: str
    status: str
    secondary_status: str | None
    status_message: str
    created: float
    modified: float
    ended: float | None
    stop_requested: bool
    spec: Mapping[str, Any]
    facts: Mapping[str, Any]
    version: int


@dataclass(frozen=True)
class Query:
    """A listing: filters as SageMaker's List* operations have them, then one page."""

    kind: str
    account_id: str
    region: str
    name_contains: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    modified_after: float | None = None
    modified_before: float | None = None
    statuses: tuple[str, ...] = ()
    sort_by: str = "created"  # "created" | "name" | "status"
    descending: bool = True
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class Page:
    items: list[Resource] = field(default_factory=list)
    next_offset: int | None = None


class ResourceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- records ----------------------------------------------------------------------------

    def create(
        self,
        *,
        kind: str,
        account_id: str,
        region: str,
        name: str,
        arn: str,
        spec: Mapping[str, Any],
        status: str,
        secondary_status: str | None,
        message: str,
        now: float,
        facts: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Resource:
        row = ResourceRow(
            account_id=account_id,
            region=region,
            kind=kind,
            name=name,
            arn=arn,
            status=status,
            secondary_status=secondary_status,
            status_message=message,
            created=now,
            modified=now,
            stop_requested=False,
            spec=json.dumps(spec),
            facts=json.dumps(dict(facts or {})),
            version=0,
        )
        try:
            with self._db.session() as s:
                s.add(row)
                s.flush()
                s.add(
                    EventRow(
                        resource_id=row.id,
                        time=now,
                        status=status,
                        secondary_status=secondary_status,
                        message=message,
                    )
                )
                _put_tags(s, arn, tags or {})
                return _record(row)
        except IntegrityError:
            existing = self.find(kind, account_id, region, name)
            raise ResourceExists(existing.arn if existing else arn) from None

    def find(self, kind: str, account_id: str, region: str, name: str) -> Resource | None:
        with self._db.session() as s:
            row = s.scalar(_by_name(kind, account_id, region, name))
            return _record(row) if row else None

    def get(self, kind: str, account_id: str, region: str, name: str) -> Resource:
        found = self.find(kind, account_id, region, name)
        if found is None:
            raise ResourceMissing(name)
        return found

    def get_id(self, resource_id: int) -> Resource:
        with self._db.session() as s:
            row = s.get(ResourceRow, resource_id)
            if row is None:
                raise ResourceMissing(str(resource_id))
            return _record(row)

    def find_arn(self, arn: str) -> Resource | None:
        with self._db.session() as s:
            row = s.scalar(select(ResourceRow).where(ResourceRow.arn == arn))
            return _record(row) if row else None

    def unfinished(self, kind: str, terminal: Iterable[str]) -> list[Resource]:
        """Every resource of ``kind`` (all accounts) whose status is not terminal, oldest first."""
        with self._db.session() as s:
            rows = s.scalars(
                select(ResourceRow)
                .where(ResourceRow.kind == kind, ResourceRow.status.not_in(list(terminal)))
                .order_by(ResourceRow.created, ResourceRow.id)
            )
            return [_record(r) for r in rows]

    def all(self, kind: str, account_id: str, region: str) -> list[Resource]:
        """Every resource of ``kind`` in one account and region, oldest first (for Search,
        which filters and sorts on whole described records in Python)."""
        with self._db.session() as s:
            rows = s.scalars(
                select(ResourceRow)
                .where(
                    ResourceRow.kind == kind,
                    ResourceRow.account_id == account_id,
                    ResourceRow.region == region,
                )
                .order_by(ResourceRow.created, ResourceRow.id)
            )
            return [_record(r) for r in rows]

    def page(self, query: Query) -> Page:
        column = {
            "created": ResourceRow.created,
            "name": ResourceRow.name,
            "status": ResourceRow.status,
        }[query.sort_by]
        q = select(ResourceRow).where(
            ResourceRow.kind == query.kind,
            ResourceRow.account_id == query.account_id,
            ResourceRow.region == query.region,
        )
        if query.name_contains:
            # Case-insensitive, as SageMaker's NameContains is.
            q = q.where(func.lower(ResourceRow.name).contains(query.name_contains.lower()))
        if query.created_after is not None:
            q = q.where(ResourceRow.created > query.created_after)
        if query.created_before is not None:
            q = q.where(ResourceRow.created < query.created_before)
        if query.modified_after is not None:
            q = q.where(ResourceRow.modified > query.modified_after)
        if query.modified_before is not None:
            q = q.where(ResourceRow.modified < query.modified_before)
        if query.statuses:
            q = q.where(ResourceRow.status.in_(query.statuses))
        order = (
            [column.desc(), ResourceRow.id.desc()] if query.descending else [column, ResourceRow.id]
        )
        q = q.order_by(*order).offset(query.offset).limit(query.limit + 1)
        with self._db.session() as s:
            rows = list(s.scalars(q))
        more = len(rows) > query.limit
        return Page(
            [_record(r) for r in rows[: query.limit]],
            query.offset + query.limit if more else None,
        )

    def count_by_status(self) -> list[tuple[str, str, int]]:
        """``(kind, status, count)`` over every account and region: one GROUP BY, no record
        read (for ``GET /metrics``, computed at every scrape, and ``sagebrush status``)."""
        with self._db.session() as s:
            rows = s.execute(
                select(ResourceRow.kind, ResourceRow.status, func.count())
                .group_by(ResourceRow.kind, ResourceRow.status)
                .order_by(ResourceRow.kind, ResourceRow.status)
            )
            return [(kind, status, int(count)) for kind, status, count in rows]

    def events(self, resource_id: int) -> list[Event]:
        with self._db.session() as s:
            rows = s.scalars(
                select(EventRow).where(EventRow.resource_id == resource_id).order_by(EventRow.id)
            )
            return [Event(r.time, r.status, r.secondary_status, r.message) for r in rows]

    def change(
        self,
        resource_id: int,
        *,
        expect_secondary: Sequence[str | None] | None = None,
        expect_status: Sequence[str] | None = None,
        now: float,
        status: str | None = None,
        secondary_status: str | None = None,
        message: str | None = None,
        facts: Mapping[str, Any] | None = None,
        stop_requested: bool | None = None,
        ended: float | None = None,
        event: bool = False,
    ) -> Resource | None:
        """Apply a change if the resource is still in an expected status; None if it is not.

        ``facts`` are merged into the stored ones (a None value removes the key).
        ``event`` appends the new status to the resource's history.
        """
        with self._db.session() as s:
            row = s.get(ResourceRow, resource_id, with_for_update=True)
            if row is None:
                raise ResourceMissing(str(resource_id))
            if expect_secondary is not None and row.secondary_status not in expect_secondary:
                return None
            if expect_status is not None and row.status not in expect_status:
                return None
            values: dict[str, Any] = {"modified": now, "version": row.version + 1}
            if status is not None:
                values["status"] = status
            if secondary_status is not None:
                values["secondary_status"] = secondary_status
            if message is not None:
                values["status_message"] = message
            if stop_requested is not None:
                values["stop_requested"] = stop_requested
            if ended is not None:
                values["ended"] = ended
            if facts:
                merged = json.loads(row.facts)
                for key, value in facts.items():
                    if value is None:
                        merged.pop(key, None)
                    else:
                        merged[key] = value
                values["facts"] = json.dumps(merged)
            # Compare-and-set on the version read above, so a concurrent writer on another
            # connection (PostgreSQL without row locks held) cannot be overwritten silently.
            done: CursorResult[Any] = s.execute(  # type: ignore[assignment]
                update(ResourceRow)
                .where(ResourceRow.id == resource_id, ResourceRow.version == row.version)
                .values(**values)
            )
            if done.rowcount != 1:
                return None
            if event:
                s.add(
                    EventRow(
                        resource_id=resource_id,
                        time=now,
                        status=values.get("status", row.status),
                        secondary_status=values.get("secondary_status", row.secondary_status),
                        message=values.get("status_message", row.status_message),
                    )
                )
            s.flush()
            s.expire(row)
            return _record(s.get_one(ResourceRow, resource_id))

    def delete(self, resource_id: int) -> bool:
        """Remove a record with its history and tags; False if it was already gone."""
        with self._db.session() as s:
            row = s.get(ResourceRow, resource_id)
            if row is None:
                return False
            s.execute(delete(EventRow).where(EventRow.resource_id == resource_id))
            s.execute(delete(TagRow).where(TagRow.arn == row.arn))
            s.delete(row)
            return True

    # --- tags ------------------------------------------------------------------------------

    def add_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        with self._db.session() as s:
            _put_tags(s, arn, tags)

    def tags(self, arn: str) -> list[tuple[str, str]]:
        with self._db.session() as s:
            rows = s.scalars(select(TagRow).where(TagRow.arn == arn).order_by(TagRow.id))
            return [(r.key, r.value) for r in rows]

    def tags_of(self, arns: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """The tags of many resources, a query per 500 ARNs; an ARN without tags maps to []."""
        wanted = list(dict.fromkeys(arns))
        found: dict[str, list[tuple[str, str]]] = {arn: [] for arn in wanted}
        with self._db.session() as s:
            # Chunked: SQLite caps the number of bound parameters in one statement.
            for start in range(0, len(wanted), 500):
                rows = s.scalars(
                    select(TagRow)
                    .where(TagRow.arn.in_(wanted[start : start + 500]))
                    .order_by(TagRow.id)
                )
                for r in rows:
                    found[r.arn].append((r.key, r.value))
        return found

    def delete_tags(self, arn: str, keys: Iterable[str]) -> None:
        with self._db.session() as s:
            s.execute(delete(TagRow).where(TagRow.arn == arn, TagRow.key.in_(list(keys))))

    def count_tags(self, arn: str) -> int:
        with self._db.session() as s:
            return s.scalar(select(func.count()).select_from(TagRow).where(TagRow.arn == arn)) or 0


def _put_tags(s: Session, arn: str, tags: Mapping[str, str]) -> None:
    for key, value in tags.items():
        row = s.scalar(select(TagRow).where(TagRow.arn == arn, TagRow.key == key))
        if row is None:
            s.add(TagRow(arn=arn, key=key, value=value))
        else:
            row.value = value


def _by_name(kind: str, account_id: str, region: str, name: str) -> Any:
    return select(ResourceRow).where(
        ResourceRow.kind == kind,
        ResourceRow.account_id == account_id,
        ResourceRow.region == region,
        ResourceRow.name == name,
    )


def _record(row: ResourceRow) -> Resource:
    return Resource(
        id=row.id,
        account_id=row.account_id,
        region=row.region,
        kind=row.kind,
        name=row.name,
        arn=row.arn,
        status=row.status,
        secondary_status=row.secondary_status,
        status_message=row.status_message,
        created=row.created,
        modified=row.modified,
        ended=row.ended,
        stop_requested=row.stop_requested,
        spec=json.loads(row.spec),
        facts=json.loads(row.facts),
        version=row.version,
    )
