"""Running a user's script as a user would: a fresh shell, ``eval "$(sagebrush env)"``, and
the network beyond loopback cut off (``offline/sitecustomize.py`` records any attempt, then
runs the ``sitecustomize`` of ``sagebrush env``'s boot directory, which comes after it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sagebrush.testing import Server

OFFLINE = Path(__file__).parent / "offline"


def run_offline(
    server: Server, cwd: Path, command: str, *, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` (also its HOME); it must exit 0 and stay on loopback."""
    netlog = cwd / "netlog"
    shell = (
        f'eval "$({sys.executable} -m sagebrush env --home {server.home})" && '
        f'export PYTHONPATH={OFFLINE}:"$PYTHONPATH" SAGEBRUSH_TEST_NETLOG={netlog} && '
        f"{command}"
    )
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(cwd)}
    proc = subprocess.run(
        ["bash", "-c", shell],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-5000:]
    assert not netlog.exists(), "network beyond loopback was used:\n" + netlog.read_text()
    return proc
