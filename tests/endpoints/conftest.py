"""A migrated SQLite database per test, copied from one migrated once per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebrush.state.db import Database


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrating is the slow part: once per module."""
    path = tmp_path_factory.mktemp("template") / "meta.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()
    return path


@pytest.fixture
def db(tmp_path: Path, migrated: Path) -> Iterator[Database]:
    shutil.copyfile(migrated, tmp_path / "meta.db")
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    yield database
    database.dispose()
