"""Endpoints across server restarts. A server that crashes leaves its model servers running
and the next one on the same home adopts them (and replaces those that died meanwhile); a
server stopped cleanly stops them, and the next one starts the endpoints' fleets anew."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sagebrush.testing import Server, start_server
from tests.e2e._endpoints import (
    Answer,
    RawInvoker,
    create_model,
    deploy,
    processes_under,
    register_echo_image,
    stop_server,
    tarball,
    upload,
    variant,
    wait_status,
)

pytestmark = pytest.mark.slow


def _instance_pids(home: Path, instance: str) -> list[int]:
    marker = f"SAGEBRUSH_INSTANCE_ID={instance}".encode()
    pids = []
    for pid in processes_under(home):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            pids.append(pid)
    return pids


def _instance(answer: Answer) -> str:
    return (answer.custom_attributes or "").removeprefix("instance=")


def _invoke_all(url: str, names: dict[str, str]) -> dict[str, Answer]:
    client = RawInvoker(url)
    try:
        return {key: client.invoke(name, b"1") for key, name in names.items()}
    finally:
        client.close()


def _deploy_echo(server: Server, image: str, answer: str, **env: str) -> str:
    """An endpoint of the echo image answering ``answer``."""
    sm, s3 = server.client("sagemaker"), server.client("s3")
    artifact = tarball({"answer.txt": answer.encode()})
    url = upload(s3, f"s3://models/{answer}/model.tar.gz", artifact)
    return deploy(sm, [variant(create_model(sm, image, url, env))])


def _kill_instance(home: Path, answer: Answer) -> None:
    pids = _instance_pids(home, _instance(answer))
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def test_endpoints_survive_server_restarts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    image = register_echo_image(home)
    server = start_server(home)
    try:
        names = {
            "kept": _deploy_echo(server, image, "kept"),
            # Slow to start: after the restart, InService must wait for its replacement.
            "lost": _deploy_echo(server, image, "lost", ECHO_START_DELAY="1"),
        }
        before = _invoke_all(server.url, names)
        expected = {"kept": (200, b"kept"), "lost": (200, b"lost")}
        assert {k: (a.status, a.body) for k, a in before.items()} == expected

        # A crash: the model servers live on; one of them dies while no server watches.
        server.stop(signal.SIGKILL)
        assert _instance_pids(home, _instance(before["kept"]))
        _kill_instance(home, before["lost"])
        server = start_server(home)
        sm = server.client("sagemaker")
        for name in names.values():
            assert wait_status(sm, name)["EndpointStatus"] == "InService"
        after = _invoke_all(server.url, names)
        assert {k: (a.status, a.body) for k, a in after.items()} == expected
        assert _instance(after["kept"]) == _instance(before["kept"])  # adopted
        assert _instance(after["lost"]) != _instance(before["lost"])  # replaced

        # A clean stop leaves no process behind; the next server starts the fleets again.
        assert server.stop(signal.SIGTERM) == 0
        assert processes_under(home) == []
        server = start_server(home)
        sm = server.client("sagemaker")
        for name in names.values():
            assert wait_status(sm, name)["EndpointStatus"] == "InService"
        again = _invoke_all(server.url, names)
        assert {k: (a.status, a.body) for k, a in again.items()} == expected

        out = tmp_path / "out.bin"
        cli = subprocess.run(
            [
                str(Path(sys.executable).parent / "aws"),
                "sagemaker-runtime",
                "invoke-endpoint",
                "--endpoint-name",
                names["kept"],
                "--body",
                "1,2,3",
                "--content-type",
                "text/csv",
                "--accept",
                "text/csv",
                str(out),
            ],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout) == {
            "ContentType": "text/csv",
            "InvokedProductionVariant": "AllTraffic",
            "CustomAttributes": again["kept"].custom_attributes,
        }
        assert out.read_bytes() == b"kept"
    finally:
        stop_server(server)
