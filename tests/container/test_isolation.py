"""The private mount namespace: /opt/ml, /etc/hosts and the host name of an instance."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests._system import require
from tests.container.conftest import MakePlan

from sagebrush.container import isolation
from sagebrush.container.training import ChannelPlan, build_command, write_layout


@pytest.fixture(scope="module")
def _namespaces() -> None:
    require(
        isolation.namespace_supported(),
        "private mount namespaces (unshare)",
        "root, or unprivileged user namespaces, and util-linux's unshare",
    )


needs_namespace = pytest.mark.usefixtures("_namespaces")


def test_wrap_rejects_paths_outside_opt_ml(tmp_path: Path) -> None:
    for bad in ("/etc", "../x", "--"):
        with pytest.raises(ValueError, match="relative"):
            isolation.wrap(["true"], tmp_path, tmp_path / "hosts", read_only=[bad])


def test_build_command_without_namespace_is_plain(make_plan: MakePlan) -> None:
    plan = make_plan()
    argv = build_command(plan)
    assert argv[:3] == [sys.executable, "-I", "-c"]
    assert argv[-1] == str(plan.root)
    assert Path(argv[-2], "sagebrush", "container").is_dir()


@needs_namespace
def test_script_sees_opt_ml_and_resolves_other_hosts(make_plan: MakePlan) -> None:
    plan = make_plan(
        hosts=("algo-1", "algo-2"),
        use_namespace=True,
        hyperparameters={"sagemaker_program": '"train.py"', "epochs": "3"},
        channels=(ChannelPlan("train"), ChannelPlan("fast", input_mode="FastFile")),
    )
    write_layout(plan)
    (plan.root / "input" / "data" / "fast" / "data.csv").write_text("1,2\n")
    script = """
    import json, os, socket
    hps = json.load(open("/opt/ml/input/config/hyperparameters.json"))
    assert hps["epochs"] == "3", hps
    assert os.environ["SM_MODEL_DIR"] == "/opt/ml/model"
    assert socket.gethostname() == "algo-1"
    assert open("/opt/ml/input/data/fast/data.csv").read() == "1,2\\n"
    try:
        open("/opt/ml/input/data/fast/new.csv", "w")
    except OSError:
        read_only = True
    else:
        read_only = False
    with open("/opt/ml/model/result.json", "w") as f:
        json.dump({"algo-2": socket.gethostbyname("algo-2"), "read_only": read_only}, f)
    """
    (plan.root / "code" / "train.py").write_text(textwrap.dedent(script))
    done = subprocess.run(
        build_command(plan), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = (plan.root / "model" / "result.json").read_text()
    assert result == '{"algo-2": "127.0.0.1", "read_only": true}'
    assert (plan.root / "output" / "success").exists()
    # Nothing leaked into the host's view of the paths.
    assert not (plan.root / "input" / "data" / "fast" / "new.csv").exists()
    assert "algo-2" not in Path("/etc/hosts").read_text()
