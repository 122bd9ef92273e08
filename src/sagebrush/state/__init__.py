"""Durable metadata: SQLAlchemy 2 over SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

from sagebrush.state.db import Database
from sagebrush.state.schema import Base

__all__ = ["Base", "Database"]
