"""Settings precedence: flags > SAGEBRUSH_* environment > <home>/config.toml > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagebrush.config import DEFAULT_PORT, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOME", "PORT", "REGION", "ACCOUNT_ID", "AUTH", "DB", "HOST", "CREDENTIALS"):
        monkeypatch.delenv(f"SAGEBRUSH_{name}", raising=False)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(home=str(tmp_path))
    assert settings.port == DEFAULT_PORT
    assert settings.host == "127.0.0.1"
    assert settings.database_url == f"sqlite:///{tmp_path / 'sagebrush.db'}"
    assert settings.verify_signatures is False  # loopback: zero-config


def test_file_then_env_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text(
        '[sagebrush]\nport = 5000\nregion = "eu-west-1"\naccount-id = "111122223333"\n'
    )
    settings = load_settings(home=str(tmp_path))
    assert (settings.port, settings.region, settings.account_id) == (
        5000,
        "eu-west-1",
        "111122223333",
    )
    monkeypatch.setenv("SAGEBRUSH_PORT", "6000")
    assert load_settings(home=str(tmp_path)).port == 6000
    assert load_settings(home=str(tmp_path), port=7000).port == 7000
    assert load_settings(home=str(tmp_path)).region == "eu-west-1"


def test_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEBRUSH_HOME", str(tmp_path))
    assert load_settings().home == tmp_path


def test_auth_auto_turns_on_off_loopback(tmp_path: Path) -> None:
    assert load_settings(home=str(tmp_path), host="0.0.0.0").verify_signatures is True
    assert load_settings(home=str(tmp_path), auth="off", host="0.0.0.0").verify_signatures is False
    assert load_settings(home=str(tmp_path), auth="on").verify_signatures is True


def test_credentials_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEBRUSH_CREDENTIALS", '{"AKIDEXAMPLE": "secret"}')
    assert load_settings(home=str(tmp_path)).credentials == {"AKIDEXAMPLE": "secret"}


@pytest.mark.parametrize(("field", "value"), [("account_id", "123"), ("auth", "maybe")])
def test_bad_values_are_rejected(tmp_path: Path, field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        load_settings(home=str(tmp_path), **{field: value})


def test_access_log_from_file_env_and_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sagebrush.cli.main import build_parser

    monkeypatch.delenv("SAGEBRUSH_ACCESS_LOG", raising=False)
    assert load_settings(home=str(tmp_path)).access_log is False
    (tmp_path / "config.toml").write_text("access-log = true\n")
    assert load_settings(home=str(tmp_path)).access_log is True
    monkeypatch.setenv("SAGEBRUSH_ACCESS_LOG", "false")
    assert load_settings(home=str(tmp_path)).access_log is False
    # No flag leaves the environment's choice alone; the flag turns it on.
    for argv, expected in ((["serve"], False), (["serve", "--access-log"], True)):
        flag = build_parser().parse_args(argv).access_log
        assert load_settings(home=str(tmp_path), access_log=flag).access_log is expected
