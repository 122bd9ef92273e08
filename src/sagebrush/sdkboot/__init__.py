"""The directory ``sagebrush env`` puts first on ``PYTHONPATH`` (see ``docs/sdk.md``).

It holds ``sitecustomize.py``, which Python runs at start-up, and ``sagebrush_sdk_hook.py``,
the sagemaker SDK accelerator it installs. Both are standard library only and import nothing
of Sagebrush: they run in the user's own environment, where Sagebrush may not be installed.
This ``__init__`` only names the directory for ``sagebrush env``.
"""

from __future__ import annotations

from pathlib import Path

BOOT_DIR = Path(__file__).resolve().parent
