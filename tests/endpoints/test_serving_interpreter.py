"""Which Python serves script-mode code: the server's, unless requirements.txt needs more."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sagebrush.jobs.endpoints.serving import StagingError, interpreter_for


def test_code_without_or_with_satisfied_requirements_runs_on_the_server(tmp_path: Path) -> None:
    assert interpreter_for(None, tmp_path / "venvs", {}) == sys.executable
    assert interpreter_for(tmp_path, tmp_path / "venvs", {}) == sys.executable
    (tmp_path / "requirements.txt").write_text("numpy\nscikit-learn>=1.0\n")
    assert interpreter_for(tmp_path, tmp_path / "venvs", {}) == sys.executable
    assert not (tmp_path / "venvs").exists()  # nothing built


def test_requirements_that_cannot_be_met_fail_the_staging(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("sagebrush-no-such-package==1.0\n")
    env = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "0"}
    with pytest.raises(StagingError, match=r"Installing the model's requirements\.txt failed"):
        interpreter_for(tmp_path, tmp_path / "venvs", env)
    # A failed build leaves no half-made environment to be reused.
    assert not [p for p in (tmp_path / "venvs").glob("*") if p.is_dir()]
