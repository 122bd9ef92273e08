"""The sagemaker SDK v3 in a virtual environment of its own (``.venv-sdk3``).

v3 cannot share an environment with the v2 SDK the rest of the suite uses. Installing it
(with MLflow and friends) takes minutes, so the session starts building it in the
background as soon as collection shows a test needs it (``tests/conftest.py``), and the
test waits for it; later runs reuse it. Pinned, so pip resolves nothing; no byte-compiling
of the thousands of files nothing here imports twice.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from sagebrush.testing import Server

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-sdk3"
OFFLINE = Path(__file__).parent / "offline"
PACKAGES = ("sagemaker==3.27.0", "sagemaker-core==2.27.0", "sagemaker-train==1.27.0", "numpy")

_error: list[BaseException] = []


@functools.cache
def start_building() -> threading.Thread:
    build = threading.Thread(target=_ensure, name="sdk3-venv", daemon=True)
    build.start()
    return build


def python() -> Path:
    """The v3 environment's interpreter, once it is ready."""
    start_building().join(timeout=1200)
    if _error:
        raise _error[0]
    return VENV / "bin" / "python"


def _ensure() -> None:
    try:
        interpreter = VENV / "bin" / "python"
        ready = (
            interpreter.exists()
            and not subprocess.run(
                [interpreter, "-c", "import sagemaker.train"], capture_output=True, check=False
            ).returncode
        )
        if ready:
            return
        subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], check=True)
        subprocess.run(
            [interpreter, "-m", "pip", "install", "-q", "--no-compile", *PACKAGES],
            check=True,
            timeout=1200,
            capture_output=True,
        )
    except BaseException as exc:  # reported to the test that waits
        _error.append(exc)


def run_offline(
    server: Server, cwd: Path, script: str, *, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``cwd/script`` on the v3 interpreter in ``sagebrush env``'s environment with the
    network beyond loopback cut off (``offline/sitecustomize.py``, which then runs the one
    ``sagebrush env`` puts on the path); it must exit 0 and stay on loopback."""
    netlog = cwd / "netlog"
    client_env = server.env
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **client_env,
        "HOME": str(cwd),
        "PYTHONPATH": f"{OFFLINE}:{client_env['PYTHONPATH']}",
        "SAGEBRUSH_TEST_NETLOG": str(netlog),
    }
    proc = subprocess.run(
        [python(), script], cwd=cwd, env=env, capture_output=True, text=True,
        check=False, timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert not netlog.exists(), "network beyond loopback was used:\n" + netlog.read_text()
    return proc


def result(proc: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a script printed after ``RESULT ``."""
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])
