"""The in-instance toolkit end to end: real processes in a temporary instance directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.container.conftest import MakePlan

from sagebrush.container.training import (
    InstancePlan,
    build_command,
    instance_environment,
    write_layout,
)

HPS = {
    "epochs": "10",
    "name": '"resnet"',
    "layers": "[1, 2]",
    "sagemaker_program": '"train.py"',
    "sagemaker_submit_directory": '"s3://b/source.tar.gz"',
}


def _prepare(plan: InstancePlan, files: dict[str, str]) -> InstancePlan:
    write_layout(plan)
    for name, text in files.items():
        (plan.root / "code" / name).write_text(textwrap.dedent(text))
    return plan


def _run(plan: InstancePlan) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        build_command(plan), capture_output=True, text=True, timeout=120, check=False
    )


def _output(plan: InstancePlan, name: str) -> str | None:
    path = plan.root / "output" / name
    return path.read_text() if path.exists() else None


def test_script_runs_with_environment_and_decoded_hyperparameters(make_plan: MakePlan) -> None:
    plan = _prepare(
        make_plan(hyperparameters=HPS),
        {
            "train.py": """
            import json, os, sys
            assert sys.argv[1:] == ["--epochs", "10", "--layers", "[1, 2]", "--name", "resnet"]
            assert json.loads(os.environ["SM_HPS"]) == {"epochs": 10, "name": "resnet",
                                                         "layers": [1, 2]}
            assert os.getcwd() == os.path.dirname(os.environ["SM_MODEL_DIR"]) + "/code"
            with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as f:
                f.write(os.environ["SM_HP_NAME"] + " " + os.environ["SM_CHANNEL_TRAIN"])
            print("trained", flush=True)
            """
        },
    )
    done = _run(plan)
    assert done.returncode == 0, done.stderr
    assert "trained" in done.stdout
    model = (plan.root / "model" / "model.txt").read_text()
    assert model == f"resnet {plan.root}/input/data/train"
    assert _output(plan, "success") == ""
    assert _output(plan, "failure") is None


def test_failing_script_writes_toolkit_failure(make_plan: MakePlan) -> None:
    plan = _prepare(
        make_plan(hyperparameters=HPS),
        {"train.py": "print('starting')\nraise ValueError('boom')\n"},
    )
    done = _run(plan)
    assert done.returncode == 1
    failure = _output(plan, "failure")
    assert failure is not None
    assert failure.startswith('ExecuteUserScriptError:\nExitCode 1\nErrorMessage "')
    assert "ValueError: boom" in failure
    assert failure.endswith(
        f'"\nCommand "{sys.executable} -- train.py --epochs 10 --layers [1, 2] --name resnet"'
    )
    assert "ValueError: boom" in done.stderr  # streamed through as well
    assert _output(plan, "success") is None


def test_script_own_failure_file_is_kept(make_plan: MakePlan) -> None:
    plan = _prepare(
        make_plan(hyperparameters=HPS),
        {
            "train.py": """
            import os, sys
            with open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w") as f:
                f.write("my own reason")
            sys.exit(3)
            """
        },
    )
    done = _run(plan)
    assert done.returncode == 1
    assert _output(plan, "failure") == "my own reason"


def test_shell_entry_point(make_plan: MakePlan) -> None:
    hps = {**HPS, "sagemaker_program": '"run.sh"'}
    plan = _prepare(
        make_plan(hyperparameters=hps),
        {"run.sh": 'echo "$@" > "$SM_MODEL_DIR/args.txt"\n'},
    )
    done = _run(plan)
    assert done.returncode == 0, done.stderr
    args = (plan.root / "model" / "args.txt").read_text().strip()
    assert args == "--epochs 10 --layers [1, 2] --name resnet"


def test_missing_program_is_a_client_error(make_plan: MakePlan) -> None:
    plan = _prepare(make_plan(), {})
    done = _run(plan)
    assert done.returncode == 1
    assert (_output(plan, "failure") or "").startswith("No training program")


def test_requirements_venv_is_cached(make_plan: MakePlan) -> None:
    script = """
    import os, sys, numpy
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "prefix.txt"), "w") as f:
        f.write(sys.prefix)
    """
    # numpy is already installed in the running interpreter's environment, which the job's
    # venv layers on: pip is satisfied without downloading anything.
    files = {"train.py": script, "requirements.txt": "numpy\n"}
    first = _prepare(make_plan(hyperparameters=HPS), files)
    done = _run(first)
    assert done.returncode == 0, done.stdout + done.stderr
    prefix = (first.root / "model" / "prefix.txt").read_text()
    assert first.venv_cache is not None
    assert Path(prefix).parent == first.venv_cache
    assert (Path(prefix) / ".sagebrush-complete").is_file()

    second = _prepare(make_plan(hyperparameters=HPS, root=first.root.parent / "algo-9"), files)
    done = _run(second)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Reusing cached environment" in done.stdout
    assert (second.root / "model" / "prefix.txt").read_text() == prefix


def test_pip_failure_is_reported(make_plan: MakePlan) -> None:
    files = {"train.py": "print('never')\n", "requirements.txt": "./no-such-package-dir\n"}
    plan = _prepare(make_plan(hyperparameters=HPS), files)
    done = _run(plan)
    assert done.returncode == 1
    failure = _output(plan, "failure") or ""
    assert failure.startswith("InstallRequirementsError:\nExitCode 1\n"), failure
    assert "pip install" in failure
    assert "never" not in done.stdout


def test_sigterm_reaches_the_script_and_its_children(make_plan: MakePlan) -> None:
    script = """
    import os, signal, subprocess, sys, time
    model = os.environ["SM_MODEL_DIR"]
    sleeper = subprocess.Popen(["sleep", "300"])
    def stop(signum, frame):
        open(os.path.join(model, "stopped.txt"), "w").write(str(signum))
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    open(os.path.join(model, "sleeper.txt"), "w").write(str(sleeper.pid))
    open(os.path.join(model, "ready"), "w").close()
    time.sleep(300)
    """
    plan = _prepare(make_plan(hyperparameters=HPS), {"train.py": script})
    proc = subprocess.Popen(
        build_command(plan), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        ready = plan.root / "model" / "ready"
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)  # the toolkit only, as a launcher would
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert (plan.root / "model" / "stopped.txt").read_text() == str(int(signal.SIGTERM))
    sleeper = int((plan.root / "model" / "sleeper.txt").read_text())
    assert not _alive(sleeper)


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True


def test_command_runtime_rebases_opt_ml_without_namespace(make_plan: MakePlan) -> None:
    plan = make_plan(
        runtime="command",
        framework=None,
        entrypoint=("/bin/sh", "-c"),
        arguments=('echo "$TRAINING_JOB_NAME" > /opt/ml/model/cmd.txt; exit 4',),
    )
    write_layout(plan)
    done = _run(plan)
    assert done.returncode == 4
    assert (plan.root / "model" / "cmd.txt").read_text() == "job-1\n"
    assert _output(plan, "failure") is None  # no toolkit in a custom container


def test_local_image_runs_train(make_plan: MakePlan, tmp_path: Path) -> None:
    image = tmp_path / "images" / "my-algo"
    image.mkdir(parents=True)
    train = image / "train"
    train.write_text('#!/bin/sh\npwd > "$SM_MODEL_DIR/cwd.txt"\n')
    train.chmod(0o755)
    plan = make_plan(runtime="local-image", image_dir=image, framework=None)
    write_layout(plan)
    done = _run(plan)
    assert done.returncode == 0, done.stderr
    assert (plan.root / "model" / "cwd.txt").read_text().strip() == str(image)


def test_user_modules_cannot_shadow_the_toolkit(make_plan: MakePlan) -> None:
    plan = _prepare(
        make_plan(hyperparameters=HPS, environment={"PYTHONPATH": "/nonexistent"}),
        {
            "logging.py": "raise RuntimeError('user logging.py imported')\n",
            "types.py": "raise RuntimeError('user types.py imported')\n",
            "train.py": "print('fine')\n",
        },
    )
    # Launched with the full instance environment: PYTHONPATH starts with the code dir.
    env = instance_environment(plan, os.environ)
    assert env["PYTHONPATH"].startswith(f"{plan.root}/code")
    done = subprocess.run(
        build_command(plan), env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "fine" in done.stdout


def test_killing_the_toolkit_kills_the_user_processes(make_plan: MakePlan) -> None:
    script = """
    import os, subprocess, time
    model = os.environ["SM_MODEL_DIR"]
    sleeper = subprocess.Popen(["sleep", "300"])
    open(os.path.join(model, "pids.txt"), "w").write(f"{os.getpid()} {sleeper.pid}")
    time.sleep(300)
    """
    plan = _prepare(make_plan(hyperparameters=HPS), {"train.py": script})
    proc = subprocess.Popen(
        build_command(plan),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pids = plan.root / "model" / "pids.txt"
    try:
        deadline = time.monotonic() + 60
        while not pids.exists() or not pids.read_text():
            assert proc.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher's hard stop: the toolkit's group
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    for pid in map(int, pids.read_text().split()):
        assert not _alive(pid), pid
