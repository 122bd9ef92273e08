"""The sagemaker SDK v3 in a virtual environment of its own (``.venv-sdk3``).

v3 cannot share an environment with the v2 SDK the rest of the suite uses. Installing it
(with MLflow and friends) takes minutes, so the session starts building it in the
background as soon as collection shows a test needs it (``tests/conftest.py``), and the
test waits for it; later runs reuse it. Pinned, so pip resolves nothing; no byte-compiling
of the thousands of files nothing here imports twice.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-sdk3"
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
