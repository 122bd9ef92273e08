"""Hyperparameters to arguments, entry point classification, distributed launch commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.container.conftest import MakePlan

from sagebrush.container.training._args import (
    decode_hyperparameters,
    split_hyperparameters,
    to_cmd_args,
    to_env_value,
    to_env_vars,
)
from sagebrush.container.training._distributed import (
    MPI,
    NONE,
    TORCH,
    distribution,
    find_mpirun,
    mpi_command,
    torchrun_command,
)
from sagebrush.container.training._entry import EntryPointType, classify, entry_command
from sagebrush.container.training._errors import ClientError


def test_cmd_args_sorted_with_short_keys_dicts_and_lists() -> None:
    args = to_cmd_args(
        {"b": 1, "alpha": "x", "opts": {"z": 1, "a": "q"}, "ls": [1, 2], "flag": True, "n": None}
    )
    assert args == [
        "--alpha", "x", "-b", "1", "--flag", "True", "--ls", "[1, 2]",
        "-n", "", "--opts", "a=q,z=1",
    ]  # fmt: skip


def test_decode_keeps_raw_strings_when_not_json() -> None:
    assert decode_hyperparameters({"a": "10", "b": '"x"', "c": "x", "d": "[1", "e": "true"}) == {
        "a": 10,
        "b": "x",
        "c": "x",
        "d": "[1",
        "e": True,
    }


def test_split_reserved_and_framework_keys() -> None:
    split = split_hyperparameters(
        {
            "epochs": 1,
            "sagemaker_program": "t.py",
            "_tuning_objective_metric": "loss",
            "sagemaker_mpi_enabled": True,
            "sagemaker_distribution_instance_groups": ["g"],
        }
    )
    assert split.user == {"epochs": 1}
    assert split.framework == {
        "sagemaker_mpi_enabled": True,
        "sagemaker_distribution_instance_groups": ["g"],
    }
    assert set(split.sagemaker) == {
        "sagemaker_program",
        "_tuning_objective_metric",
        "sagemaker_mpi_enabled",
        "sagemaker_distribution_instance_groups",
    }


def test_env_names_that_cannot_exist_are_skipped() -> None:
    assert to_env_vars({"hp_a=b": 1, "hp_ok-name": "x"}) == {"SM_HP_OK-NAME": "x"}


def test_env_value_formatting() -> None:
    assert to_env_value("raw") == "raw"
    assert to_env_value(None) == ""
    assert to_env_value({"b": [1, 2], "a": True}) == '{"a":true,"b":[1,2]}'
    assert to_env_value(3) == "3"


@pytest.mark.parametrize(
    ("files", "name", "kind"),
    [
        ([], "train.py", EntryPointType.PYTHON_PROGRAM),
        (["setup.py"], "train.py", EntryPointType.PYTHON_PACKAGE),
        (["setup.py"], "run.sh", EntryPointType.COMMAND),
        ([], "run.sh", EntryPointType.COMMAND),
        ([], "train", EntryPointType.COMMAND),
    ],
)
def test_classify(tmp_path: Path, files: list[str], name: str, kind: EntryPointType) -> None:
    for f in files:
        (tmp_path / f).write_text("")
    assert classify(tmp_path, name) is kind


def test_entry_commands() -> None:
    args = ["--a", "x y"]
    assert entry_command(EntryPointType.PYTHON_PROGRAM, "t.py", args, "py") == [
        "py", "--", "t.py", "--a", "x y",
    ]  # fmt: skip
    assert entry_command(EntryPointType.PYTHON_PACKAGE, "t.py", args, "py") == [
        "py", "-m", "t", "--a", "x y",
    ]  # fmt: skip
    assert entry_command(EntryPointType.COMMAND, "run.sh", args, "py") == [
        "/bin/sh", "-c", "./run.sh --a 'x y'",
    ]  # fmt: skip


def test_torchrun_command(make_plan: MakePlan) -> None:
    plan = make_plan(host="algo-2", hosts=("algo-1", "algo-2"), num_gpus=4, master_port=29411)
    dist = distribution(plan, {"sagemaker_torch_distributed_enabled": True}, {})
    assert dist.kind == TORCH
    assert dist.processes_per_host == 4
    assert torchrun_command("py", plan, dist, "train.py", ["--e", "1"]) == [
        "py", "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "4",
        "--node_rank", "1", "--master_addr", dist.master_addr, "--master_port", "29411",
        "train.py", "--e", "1",
    ]  # fmt: skip


def test_processes_per_host(make_plan: MakePlan) -> None:
    cpu = make_plan(num_gpus=0)
    assert distribution(cpu, {"sagemaker_pytorch_ddp_enabled": True}, {}).processes_per_host == 1
    assert distribution(cpu, {}, {}).kind == NONE
    framework = {"sagemaker_mpi_enabled": True, "sagemaker_mpi_num_of_processes_per_host": 3}
    dist = distribution(cpu, framework, {})
    assert (dist.kind, dist.processes_per_host) == (MPI, 3)
    override = {"SAGEBRUSH_PROCESSES_PER_HOST": "5"}
    assert distribution(cpu, framework, override).processes_per_host == 5
    assert distribution(cpu, {}, {}).master_port == 7777  # SageMaker's default


def test_master_falls_back_to_loopback_when_unresolvable(make_plan: MakePlan) -> None:
    plan = make_plan(master_addr="algo-unresolvable.invalid")
    assert distribution(plan, {}, {}).master_addr == "127.0.0.1"


def test_mpi(make_plan: MakePlan) -> None:
    plan = make_plan(hosts=("algo-1", "algo-2"))
    framework = {
        "sagemaker_mpi_enabled": True,
        "sagemaker_mpi_num_of_processes_per_host": 2,
        "sagemaker_mpi_custom_mpi_options": "-x NCCL_DEBUG=INFO",
    }
    dist = distribution(plan, framework, {})
    cmd = mpi_command(
        "/usr/bin/mpirun",
        open_mpi=True,
        plan=plan,
        dist=dist,
        framework_params=framework,
        program_cmd=["py", "t.py"],
        as_root=True,
    )
    assert cmd == [
        "/usr/bin/mpirun", "-np", "4", "--oversubscribe", "--allow-run-as-root",
        "-x", "NCCL_DEBUG=INFO", "py", "t.py",
    ]  # fmt: skip
    with pytest.raises(ClientError, match="MPI is not installed"):
        find_mpirun({"PATH": "/nonexistent"})
