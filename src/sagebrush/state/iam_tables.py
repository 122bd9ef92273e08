"""IAM roles: the table and its repository.

IAM is a global service, so rows are keyed by account only (no region). Role names are
unique per account regardless of case, as in IAM; ``name_key`` holds the folded name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from sagebrush.state.db import Database
from sagebrush.state.schema import Base


class IamRoleRow(Base):
    __tablename__ = "iam_roles"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(512))
    assume_role_policy: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    max_session_duration: Mapped[int] = mapped_column(Integer)
    permissions_boundary: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    tags: Mapped[str] = mapped_column(Text)  # JSON: [{"Key": ..., "Value": ...}]
    created_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class RoleRecord:
    account_id: str
    name: str
    role_id: str
    path: str
    assume_role_policy: str  # the JSON document as the client sent it (not URL-encoded)
    created_at: float
    description: str | None = None
    max_session_duration: int = 3600
    permissions_boundary: str | None = None
    tags: tuple[dict[str, str], ...] = field(default=())

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role{self.path}{self.name}"


def role_id_for(account_id: str, name: str) -> str:
    """A stable IAM-style role id (``AROA`` + 17 characters) for a synthesized role."""
    digest = hashlib.sha256(f"{account_id}/{name.lower()}".encode()).digest()
    return "AROA" + base64.b32encode(digest).decode()[:17]


def new_role_id() -> str:
    return "AROA" + base64.b32encode(secrets.token_bytes(16)).decode()[:17]


class RoleRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, account_id: str, name: str) -> RoleRecord | None:
        with self._db.session() as session:
            row = session.get(IamRoleRow, (account_id, name.lower()))
            return _record(row) if row is not None else None

    def create(self, role: RoleRecord) -> bool:
        """Store ``role``; False when a role of that name already exists."""
        with self._db.session() as session:
            if session.get(IamRoleRow, (role.account_id, role.name.lower())) is not None:
                return False
            session.add(
                IamRoleRow(
                    account_id=role.account_id,
                    name_key=role.name.lower(),
                    name=role.name,
                    role_id=role.role_id,
                    path=role.path,
                    assume_role_policy=role.assume_role_policy,
                    description=role.description,
                    max_session_duration=role.max_session_duration,
                    permissions_boundary=role.permissions_boundary,
                    tags=json.dumps(list(role.tags)),
                    created_at=role.created_at,
                )
            )
        return True

    def find(self, account_id: str, path_prefix: str = "/") -> list[RoleRecord]:
        with self._db.session() as session:
            rows = session.scalars(
                select(IamRoleRow)
                .where(IamRoleRow.account_id == account_id)
                .order_by(IamRoleRow.name_key)
            )
            return [_record(r) for r in rows if r.path.startswith(path_prefix)]

    def delete(self, account_id: str, name: str) -> bool:
        with self._db.session() as session:
            row = session.get(IamRoleRow, (account_id, name.lower()))
            if row is None:
                return False
            session.delete(row)
        return True


def _record(row: IamRoleRow) -> RoleRecord:
    tags: list[dict[str, Any]] = json.loads(row.tags)
    return RoleRecord(
        account_id=row.account_id,
        name=row.name,
        role_id=row.role_id,
        path=row.path,
        assume_role_policy=row.assume_role_policy,
        created_at=row.created_at,
        description=row.description,
        max_session_duration=row.max_session_duration,
        permissions_boundary=row.permissions_boundary,
        tags=tuple({"Key": str(t["Key"]), "Value": str(t["Value"])} for t in tags),
    )
