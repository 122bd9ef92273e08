"""Run by Python at start-up where ``eval "$(sagebrush env)"`` put this directory first on
``PYTHONPATH``: installs the sagemaker SDK accelerator (``sagebrush_sdk_hook``) unless
``SAGEBRUSH_SDK_HOOK`` is ``0``/``off``/``false``/``no``, then runs the ``sitecustomize``
that this one hides (the next on ``sys.path``: Debian's, a virtualenv's...), if any.

Costs a few environment look-ups when the accelerator is off, and never raises: a broken
hook must not break the user's Python.
"""

from __future__ import annotations

import os
import sys

_OFF = frozenset({"0", "off", "false", "no"})


def _install_hook() -> None:
    if os.environ.get("SAGEBRUSH_SDK_HOOK", "").strip().lower() in _OFF:
        return
    if not os.environ.get("SAGEBRUSH_URL"):
        return
    try:
        if __package__:  # imported as sagebrush.sdkboot.sitecustomize (tests)
            from . import sagebrush_sdk_hook as hook
        else:
            import sagebrush_sdk_hook as hook  # type: ignore[import-not-found,no-redef]

        hook.install()
    except Exception:
        pass


def run_next_sitecustomize(here: str) -> None:
    """Run the first ``sitecustomize`` on ``sys.path`` after the directory ``here`` (a
    directory that appears again later is skipped too). Errors are reported as Python's
    ``site`` reports them, not raised."""
    try:
        import importlib.machinery

        real = os.path.realpath(here)
        entries = [p for p in sys.path if os.path.realpath(p or os.curdir) != real]
        mine = [i for i, p in enumerate(sys.path) if os.path.realpath(p or os.curdir) == real]
        if mine:  # only what comes after this directory
            after = sys.path[mine[0] + 1 :]
            entries = [p for p in after if os.path.realpath(p or os.curdir) != real]
        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", entries)
        if spec is None or spec.loader is None:
            return
        import importlib.util  # only now: its imports cost ~4 ms

        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as exc:
        print(
            f"Error in sitecustomize; set PYTHONVERBOSE for traceback:\n"
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )


if __name__ == "sitecustomize":
    _install_hook()
    # os.path, not pathlib: pathlib's imports would cost every Python start-up ~5 ms.
    run_next_sitecustomize(os.path.dirname(os.path.abspath(__file__)))  # noqa: PTH100, PTH120
