"""CI installs what the suite needs and then runs the README's test command; a system
dependency missing in CI fails its tests instead of skipping them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._system import require
from tests.e2e._snippets import snippets

ROOT = Path(__file__).resolve().parents[1]


def _commands(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def test_ci_installs_the_system_packages_then_runs_the_readme_test_command() -> None:
    (readme_tests,) = (s for s in snippets(ROOT / "README.md") if s.ci)
    commands = _commands(ROOT / ".ci" / "run")
    assert commands[-1] == readme_tests.text.strip(), ".ci/run ends with the README's command"
    assert "bash .ci/system-packages" in commands[:-1]
    packages = (ROOT / ".ci" / "system-packages").read_text()
    assert "postgresql" in packages and "git" in packages


def test_a_missing_system_dependency_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"initdb.*\.ci/run must provide it"):
        require(False, "initdb", "apt-get install postgresql")


def test_a_missing_system_dependency_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        require(False, "initdb", "apt-get install postgresql")
    require(True, "initdb", "apt-get install postgresql")  # present: nothing happens
