"""The process that runs inside a training instance, in place of a container's ``train``.

Invoked as ``python -m sagebrush.container.training.toolkit <instance-root>`` (the platform
uses ``launch.build_command``: the same ``main``, in isolated mode) once the platform has
written the layout (``write_layout``), unpacked ``sagemaker_submit_directory`` into
``<root>/code`` and filled the channels. It reads the stored plan, computes the instance
environment and then, by ``plan.runtime``:

- ``script``: does what sagemaker-training's ``train`` does in a framework image: install
  ``requirements.txt`` (into a cached layered venv), classify and run the entry point
  (plain, torchrun or MPI), and report through ``output/success`` or ``output/failure``.
- ``local-image``: runs ``<image_dir>/train`` like ``docker run <image> train``.
- ``command``: runs ContainerEntrypoint + ContainerArguments.

The exit status is the instance's: 0 for success; for script mode 1 on failure, as the
toolkit exits; otherwise the program's own status.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

from sagebrush.container.training import _distributed, _process, _venv
from sagebrush.container.training._args import (
    decode_hyperparameters,
    split_hyperparameters,
    to_cmd_args,
)
from sagebrush.container.training._entry import EntryPointType, classify, entry_command
from sagebrush.container.training._errors import (
    ClientError,
    InstallModuleError,
    InstallRequirementsError,
)
from sagebrush.container.training.environment import instance_environment, program
from sagebrush.container.training.launch import TOOLKIT_MODULE, build_command
from sagebrush.container.training.layout import OPT_ML, base_dir
from sagebrush.container.training.plan import (
    ALGORITHMS_PACKAGE,
    RUNTIME_BUILTIN,
    RUNTIME_COMMAND,
    RUNTIME_LOCAL_IMAGE,
    RUNTIME_SCRIPT,
    InstancePlan,
    load_plan,
)

__all__ = ["build_command", "main", "run_instance"]  # build_command: for existing importers

FAILURE_CODE = 1
logger = logging.getLogger("sagebrush.toolkit")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: python -m {TOOLKIT_MODULE} <instance-root>", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)-16s %(levelname)-8s %(message)s"
    )
    plan = load_plan(Path(args[0]))
    _process.install_signal_forwarding()
    code = run_instance(plan, os.environ)
    # Beside the instance directory: a server that adopted this process (it is not that
    # server's child) learns the exit status here.
    exit_status_path(plan.root).write_text(str(code), encoding="utf-8")
    return code


def exit_status_path(root: Path) -> Path:
    return root.with_name(f"{root.name}.exit")


def run_instance(plan: InstancePlan, base_env: Mapping[str, str]) -> int:
    if plan.use_namespace and not _is_bound(plan.root):
        raise RuntimeError(f"{OPT_ML} is not {plan.root}: launch with build_command(plan)")
    env = instance_environment(plan, base_env)
    if plan.runtime == RUNTIME_BUILTIN:
        # Sagebrush's own algorithm, on the server's interpreter and libraries.
        module = f"{ALGORITHMS_PACKAGE}.{str(plan.framework).replace('-', '_')}"
        argv = [sys.executable, "-m", module, base_dir(plan)]
        return _run_plain(argv, env, base_dir(plan))
    if plan.runtime != RUNTIME_SCRIPT:
        # An image's own scripts call `python` and `pip install` (the SDK v3 drivers do):
        # give them an interpreter of the job's own, layered on this one, so what they
        # install stays in the job and never changes the server's environment.
        venv = _venv.create_layered(plan.root.with_name(plan.root.name + ".venv"))
        env["VIRTUAL_ENV"] = str(venv.parent.parent)
        env["PATH"] = f"{venv.parent}:{env.get('PATH', '')}"
    if plan.runtime == RUNTIME_SCRIPT:
        return _report(plan, lambda: _run_script(plan, env))
    if plan.runtime == RUNTIME_LOCAL_IMAGE:
        if plan.image_dir is None:
            raise ValueError("a local-image plan needs image_dir")
        env["PATH"] = f"{plan.image_dir}:{env.get('PATH', '')}"
        return _run_plain([str(plan.image_dir / "train")], env, str(plan.image_dir))
    if plan.runtime == RUNTIME_COMMAND:
        argv = [_rebase(a, plan) for a in (*plan.entrypoint, *plan.arguments)]
        return _run_plain(argv, env, f"{base_dir(plan)}/code")
    raise ValueError(f"unknown runtime {plan.runtime!r}")


def _is_bound(root: Path) -> bool:
    try:
        return Path(OPT_ML).samefile(root)
    except OSError:
        return False


def _run_plain(argv: list[str], env: dict[str, str], cwd: str) -> int:
    logger.info("Invoking: %s", " ".join(argv))
    try:
        return _process.run(argv, env=env, cwd=cwd).returncode
    except OSError as exc:
        print(f"cannot start {argv[0]}: {exc}", file=sys.stderr)
        return 127


def _rebase(arg: str, plan: InstancePlan) -> str:
    """Without a namespace, point hard-coded ``/opt/ml`` paths (driver scripts) at the root."""
    return arg if plan.use_namespace else arg.replace(OPT_ML, str(plan.root))


def _report(plan: InstancePlan, body: Callable[[], int]) -> int:
    output = plan.root / "output"
    for stale in ("success", "failure"):
        (output / stale).unlink(missing_ok=True)
    try:
        code = body()
    except ClientError as exc:
        if _process.terminated():  # e.g. pip killed by the stop: Stopped, not Failed
            return 128 + signal.SIGTERM
        _write_failure(output, str(exc))
        logger.error("Reporting training FAILURE\n%s", exc)
        return FAILURE_CODE
    except Exception as exc:
        _write_failure(output, f"Framework Error: \n{traceback.format_exc()}\n{exc}")
        logger.exception("Reporting training FAILURE")
        return FAILURE_CODE
    if code != 0:  # stopped: the platform reports Stopped, not a failure
        return code
    output.mkdir(parents=True, exist_ok=True)
    (output / "success").write_text("", encoding="utf-8")
    logger.info("Reporting training SUCCESS")
    return 0


def _write_failure(output: Path, text: str) -> None:
    failure = output / "failure"
    if failure.exists():  # the user's own failure file says more than ours
        return
    output.mkdir(parents=True, exist_ok=True)
    failure.write_text(text, encoding="utf-8")


def _run_script(plan: InstancePlan, env: dict[str, str]) -> int:
    code_dir = Path(base_dir(plan)) / "code"
    cwd = str(code_dir)
    name = program(plan, env)
    if not name:
        raise ClientError(
            "No training program: set the sagemaker_program hyperparameter "
            "(entry_point) or the SAGEMAKER_PROGRAM environment variable."
        )
    split = split_hyperparameters(decode_hyperparameters(plan.hyperparameters))
    kind = classify(code_dir, name)
    python = _prepare_python(plan, kind, code_dir, env)
    env["PATH"] = f"{Path(python).parent}:{env.get('PATH', '')}"
    if kind is EntryPointType.COMMAND:
        if not (code_dir / name).is_file():
            raise ClientError(f"Entry point {name} not found in {code_dir}")
        (code_dir / name).chmod(0o777)

    args = to_cmd_args(split.user)
    dist = _distributed.distribution(plan, split.framework, env)
    if dist.kind != _distributed.NONE or plan.framework in ("pytorch", "huggingface"):
        for key, value in _distributed.distributed_env(plan, dist).items():
            if key not in plan.environment:
                env[key] = value

    if dist.kind == _distributed.TORCH:
        if kind is not EntryPointType.PYTHON_PROGRAM:
            raise ClientError(
                "Python packages are not supported for torch_distributed. "
                "Please use a python script as the entry-point"
                if kind is EntryPointType.PYTHON_PACKAGE
                else "Unsupported entry point type for torch_distributed"
            )
        cmd = _distributed.torchrun_command(python, plan, dist, name, args)
    elif dist.kind == _distributed.MPI:
        mpirun = _distributed.find_mpirun(env)
        if plan.host != plan.hosts[0]:
            logger.info("MPI job: every rank runs from %s; nothing to run here", plan.hosts[0])
            return 0
        cmd = _distributed.mpi_command(
            mpirun,
            open_mpi=_distributed.is_open_mpi(mpirun),
            plan=plan,
            dist=dist,
            framework_params=split.framework,
            program_cmd=entry_command(kind, name, args, python),
            as_root=os.geteuid() == 0,
        )
    else:
        cmd = entry_command(kind, name, args, python)

    logger.info("Invoking script with the following command:\n\n%s\n", " ".join(cmd))
    done = _process.run(cmd, env=env, cwd=cwd)
    if done.returncode != 0 and _process.terminated():
        return done.returncode
    _process.raise_for(done, cmd)
    return 0


def _prepare_python(
    plan: InstancePlan, kind: EntryPointType, code_dir: Path, env: dict[str, str]
) -> str:
    """The interpreter that runs the entry point, with the job's dependencies installed."""
    requirements = code_dir / "requirements.txt"
    if kind is EntryPointType.PYTHON_PACKAGE:
        venv = plan.root.with_name(plan.root.name + ".venv")
        python = _venv.create_layered(venv)
        extra = ["-r", "requirements.txt"] if requirements.exists() else []
        _venv.pip_install(
            python, [".", *extra], env=env, cwd=code_dir, error_class=InstallModuleError
        )
    elif kind is EntryPointType.PYTHON_PROGRAM and requirements.exists():
        if plan.venv_cache is not None and _cacheable(requirements):
            python = _venv.cached_requirements_venv(
                plan.venv_cache, requirements, env=env, cwd=code_dir
            )
        else:
            python = _venv.create_layered(plan.root.with_name(plan.root.name + ".venv"))
            _venv.pip_install(
                python,
                ["-r", "requirements.txt"],
                env=env,
                cwd=code_dir,
                error_class=InstallRequirementsError,
            )
    else:
        return sys.executable
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    return str(python)


def _cacheable(requirements: Path) -> bool:
    """Requirements that point at files depend on more than their own text: not cached."""
    for raw in requirements.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith((".", "/", "-e", "--editable", "-r", "-c", "file:", "~")):
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())
