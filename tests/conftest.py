"""Shared fixtures: a real ``sagebrush serve`` on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sagebrush.testing import Server, start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("home"))
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "home")
    yield srv
    srv.stop()


def pytest_collection_finish(session: pytest.Session) -> None:
    # The SDK v3 environment takes minutes to install: start it while other tests run.
    if any("sdk3" in item.nodeid for item in session.items):
        from tests.e2e import _sdk3

        _sdk3.start_building()
