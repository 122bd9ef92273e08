"""`sagebrush serve`, `env` and `status` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from sagebrush.testing import Server, start_server


def test_health_reports_version_uptime_and_services(server: Server) -> None:
    with urllib.request.urlopen(f"{server.url}/_sagebrush/health") as reply:
        assert reply.status == 200
        data = json.load(reply)
    assert data["status"] == "ok"
    assert data["version"]
    assert data["uptime_seconds"] >= 0
    assert {"s3", "sts", "iam", "sagemaker", "sagemaker-runtime"} <= set(data["services"])


def test_port_zero_picks_a_free_port_and_records_it(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    assert port > 0
    recorded = json.loads((server.home / "server.json").read_text())
    assert recorded["url"] == server.url
    assert recorded["pid"] == server.process.pid


def test_env_prints_what_clients_need(server: Server) -> None:
    env = server.env
    assert env["AWS_ENDPOINT_URL"] == server.url
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    config = Path(env["SAGEMAKER_USER_CONFIG_OVERRIDE"])
    data = json.loads(config.read_text())
    session = data["SageMaker"]["PythonSDK"]["Modules"]
    assert session["Session"]["DefaultS3Bucket"] == "sagemaker-us-east-1-000000000000"
    assert session["TelemetryOptOut"] is True


@pytest.mark.parametrize("existing", [None, "/opt/one:/opt/two"])
def test_env_lines_mean_in_a_shell_what_server_env_says(
    server: Server, existing: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Besides AWS_*: the accelerator's server and boot directory (ahead of any PYTHONPATH
    the shell had) and the SDK's switch for its v2 banner; Server.env parses the lines as
    the shell evaluates them."""
    from sagebrush.sdkboot import BOOT_DIR

    names = ["AWS_ENDPOINT_URL", "SAGEBRUSH_URL", "PYTHONPATH", "SAGEMAKER_SUPPRESS_V2_WARNING"]
    shell_env = {"PATH": os.environ["PATH"], **({"PYTHONPATH": existing} if existing else {})}
    script = f'eval "$({sys.executable} -m sagebrush env --home {server.home})" && ' + " && ".join(
        f'printf "%s\\n" "${name}"' for name in names
    )
    shown = subprocess.run(
        ["bash", "-c", script], env=shell_env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    if existing:
        monkeypatch.setenv("PYTHONPATH", existing)
    else:
        monkeypatch.delenv("PYTHONPATH", raising=False)
    parsed = server.env
    assert shown == [parsed[name] for name in names]
    assert parsed["SAGEBRUSH_URL"] == server.url
    assert parsed["SAGEMAKER_SUPPRESS_V2_WARNING"] == "1"
    tail = f":{existing}" if existing else ""
    assert parsed["PYTHONPATH"] == f"{BOOT_DIR}{tail}"


def test_sdk_accepts_the_config_file(server: Server) -> None:
    from sagemaker.config.config import _load_config_from_file, validate_sagemaker_config

    path = server.env["SAGEMAKER_USER_CONFIG_OVERRIDE"]
    validate_sagemaker_config(_load_config_from_file(path))


def test_status_talks_to_the_server(server: Server) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sagebrush", "status", "--home", str(server.home)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert server.url in out
    assert str(server.home) in out
    assert "buckets" in out


def test_status_without_a_server_says_so(tmp_path: Path) -> None:
    env = dict(os.environ, SAGEBRUSH_PORT="1")
    proc = subprocess.run(
        [sys.executable, "-m", "sagebrush", "status", "--home", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1
    assert "no server answers" in proc.stderr


def test_sigterm_and_sigint_shut_down_cleanly(tmp_path: Path) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        home = tmp_path / sig.name
        srv = start_server(home)
        assert srv.stop(sig) == 0
        assert not (home / "server.json").exists()


def test_a_second_server_on_the_same_home_is_refused(server: Server) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sagebrush", "serve", "--port", "0", "--home", str(server.home)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "another server is using" in proc.stderr
    assert server.url in proc.stderr
    with urllib.request.urlopen(f"{server.url}/_sagebrush/health") as reply:
        assert reply.status == 200
