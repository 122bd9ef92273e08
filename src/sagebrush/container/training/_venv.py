"""Per-job virtualenvs for ``requirements.txt``, layered on the running interpreter.

A framework image comes with its framework installed and ``pip install -r requirements.txt``
adds to it. Here the "image" is the interpreter running the toolkit, so each job's extras go
into a virtualenv that *sees* that interpreter's packages (a ``.pth`` hook adds its
site-packages after the venv's own, so the job's pins win) without ever modifying them.

Requirement-only venvs are cached by the file's content and the interpreter. They are built
in place under an exclusive lock and marked complete last: a venv cannot be renamed after
the fact because pip writes absolute shebangs into its console scripts, so "build in a temp
dir and rename" would leave ``bin/`` broken. A concurrent job blocks on the lock and then
finds the marker; a crashed build leaves no marker and is rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import shutil
import site
import subprocess
import sys
import sysconfig
import venv as venvlib
from collections.abc import Mapping
from pathlib import Path

from sagebrush.container.training import _process
from sagebrush.container.training._errors import CalledProcessError, InstallRequirementsError
from sagebrush.container.training._files import atomic_write

COMPLETE_MARKER = ".sagebrush-complete"
_PTH_NAME = "_sagebrush_layer.pth"


def interpreter_identity() -> str:
    """What a cached venv depends on besides the requirements: the layered-on environment."""
    return "\n".join([sys.version, sys.prefix, str(Path(sys.executable).resolve())])


def cache_key(requirements: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(requirements)
    digest.update(b"\0")
    digest.update(interpreter_identity().encode())
    return digest.hexdigest()[:32]


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def parent_site_dirs() -> list[str]:
    """The running environment's package directories, in its own precedence order."""
    dirs: list[str] = []
    for path in [
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        *site.getsitepackages(),
    ]:
        if path not in dirs and Path(path).is_dir():
            dirs.append(path)
    return dirs


def create_layered(venv: Path) -> Path:
    """A fresh venv at ``venv`` that also sees the running interpreter's packages.

    Built in this process (no interpreter start-up): it sits on every custom-image job's
    start path.
    """
    # --system-site-packages covers a plain interpreter; when the toolkit itself runs in a
    # venv, "system" means the base interpreter, so that venv's packages need the .pth hook.
    venvlib.EnvBuilder(system_site_packages=True, with_pip=False, symlinks=True).create(venv)
    python = venv_python(venv)
    purelib = sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"]
    # addsitedir (not a bare path line) so the parent's own .pth files (editable installs)
    # are honoured too.
    hook = "".join(f"import site; site.addsitedir({d!r})\n" for d in parent_site_dirs())
    Path(purelib).mkdir(parents=True, exist_ok=True)
    (Path(purelib) / _PTH_NAME).write_text(hook, encoding="utf-8")
    # pip comes through the hook when this interpreter has it; otherwise bootstrap one.
    if importlib.util.find_spec("pip") is None:
        subprocess.run([str(python), "-I", "-m", "ensurepip", "--default-pip"], check=True)
    return python


def pip_install(
    python: Path,
    args: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    error_class: type[CalledProcessError],
) -> None:
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", *args]
    print("Installing with the following command:\n" + " ".join(cmd), flush=True)
    # As in the toolkit, pip runs before the code directory joins PYTHONPATH.
    pip_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    pip_env["PIP_NO_INPUT"] = "1"
    done = _process.run(cmd, env=pip_env, cwd=str(cwd))
    _process.raise_for(done, cmd, error_class)


def cached_requirements_venv(
    cache_dir: Path, requirements: Path, *, env: Mapping[str, str], cwd: Path
) -> Path:
    """The python of a venv with ``requirements`` installed, built once per content."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = cache_key(requirements.read_bytes())
    venv = cache_dir / key
    with (cache_dir / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / COMPLETE_MARKER).exists():
            print(f"Reusing cached environment {venv}", flush=True)
            return venv_python(venv)
        if venv.exists():
            shutil.rmtree(venv)
        try:
            python = create_layered(venv)
            pip_install(
                python,
                ["-r", str(requirements)],
                env=env,
                cwd=cwd,
                error_class=InstallRequirementsError,
            )
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        atomic_write(venv / COMPLETE_MARKER, interpreter_identity() + "\n")
        return python
