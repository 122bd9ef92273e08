"""What the SDK accelerator patched in an installed SDK: ``patched(python)`` imports every
module the hook knows with the boot directory first on the path and answers the wrapped
functions (``module:name``, ``module:Class.name``, ``module:time`` for the stand-in clock)
and the patches that did not apply."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from sagebrush.sdkboot import BOOT_DIR

# Which SDK functions the hook wrapped (``module:name``) and what it could not patch.
PATCHED = r"""import importlib, json, sys
import sagebrush_sdk_hook as hook

marked = []
for name in hook.PATCHES:
    try:
        module = importlib.import_module(name)
    except ImportError:
        continue
    if isinstance(getattr(module, "time", None), hook.Clock):
        marked.append(f"{name}:time")
    for attr, value in vars(module).items():
        if getattr(value, hook.MARK, False):
            marked.append(f"{name}:{attr}")
        elif isinstance(value, type) and value.__module__ == name:
            marked += [f"{name}:{attr}.{a}" for a, v in vars(value).items()
                       if getattr(v, hook.MARK, False)]
print("RESULT " + json.dumps({"problems": hook.PROBLEMS, "marked": marked}))
"""


def patched(python: str) -> dict[str, Any]:
    """``PATCHED`` run by ``python`` with the boot directory first on its path."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_DEFAULT_REGION": "us-east-1",  # v3 makes a client at import
        "PYTHONPATH": str(BOOT_DIR),
        "SAGEBRUSH_URL": "http://127.0.0.1:1",
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    }
    proc = subprocess.run(
        [python, "-c", PATCHED], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result
