"""The /opt/ml tree, its config files, the hosts file and the stored plan."""

from __future__ import annotations

import json
from pathlib import Path

from tests.container.conftest import MakePlan

from sagebrush.container.training import (
    ChannelPlan,
    InstancePlan,
    failure_reason,
    hosts_path,
    load_plan,
    plan_path,
    write_layout,
)


def _read(path: Path) -> object:
    return json.loads(path.read_text())


def test_config_files_exact(make_plan: MakePlan) -> None:
    plan = make_plan(
        host="algo-2",
        hosts=("algo-1", "algo-2"),
        hyperparameters={"epochs": "10", "sagemaker_program": '"train.py"'},
        channels=(
            ChannelPlan("train", content_type="text/csv"),
            ChannelPlan("test", input_mode="FastFile", distribution="ShardedByS3Key"),
            ChannelPlan("stream", input_mode="Pipe", record_wrapper="RecordIO"),
        ),
    )
    write_layout(plan)
    config = plan.root / "input" / "config"
    assert _read(config / "hyperparameters.json") == {
        "epochs": "10",
        "sagemaker_program": '"train.py"',
    }
    assert _read(config / "inputdataconfig.json") == {
        "train": {
            "ContentType": "text/csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        },
        "test": {
            "TrainingInputMode": "FastFile",
            "S3DistributionType": "ShardedByS3Key",
            "RecordWrapperType": "None",
        },
        "stream": {
            "TrainingInputMode": "Pipe",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "RecordIO",
        },
    }
    assert _read(config / "resourceconfig.json") == {
        "current_host": "algo-2",
        "current_instance_type": "ml.m5.xlarge",
        "current_group_name": "homogeneousCluster",
        "hosts": ["algo-1", "algo-2"],
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": "ml.m5.xlarge",
                "hosts": ["algo-1", "algo-2"],
            }
        ],
        "network_interface_name": "eth0",
    }


def test_no_checkpoint_config_without_one(make_plan: MakePlan) -> None:
    plan = make_plan()
    write_layout(plan)
    assert not (plan.root / "input" / "config" / "checkpointconfig.json").exists()


def test_directories(make_plan: MakePlan) -> None:
    plan = make_plan(
        channels=(ChannelPlan("train"), ChannelPlan("ff", "FastFile"), ChannelPlan("p", "Pipe"))
    )
    write_layout(plan)
    for rel in (
        "input/data/train",
        "input/data/ff",
        "model",
        "output/data",
        "output/intermediate",
        "checkpoints",
        "code",
    ):
        assert (plan.root / rel).is_dir(), rel
    assert list((plan.root / "input" / "data" / "train").iterdir()) == []
    assert not (plan.root / "input" / "data" / "p").exists()  # Pipe: FIFOs come later


def test_hosts_file_maps_every_host_to_loopback(make_plan: MakePlan, tmp_path: Path) -> None:
    system = tmp_path / "etc-hosts"
    system.write_text("127.0.0.1 localhost\n10.0.0.5 myhost myhost.local\n10.9.9.9 algo-2\n")
    plan = make_plan(hosts=("algo-1", "algo-2"))
    write_layout(plan, system_hosts=system)
    lines = hosts_path(plan.root).read_text().splitlines()
    assert "127.0.0.1\talgo-1 algo-2" in lines
    assert "127.0.0.1\tlocalhost" in lines
    assert "10.0.0.5 myhost myhost.local" in lines  # the machine's own names survive
    assert "10.9.9.9 algo-2" not in lines  # a stale mapping of ours does not
    assert hosts_path(plan.root).parent == plan.root.parent


def test_plan_round_trips_through_its_file(make_plan: MakePlan) -> None:
    plan = make_plan(
        hosts=("algo-1", "algo-2"),
        hyperparameters={"a": "1"},
        environment={"X": "y"},
        entrypoint=("python", "drive.py"),
        arguments=("--x",),
        image_dir=Path("/images/algo"),
        master_port=29555,
        use_namespace=True,
        checkpoint={"LocalPath": "/opt/ml/checkpoints/", "S3Uri": "s3://b/ckpt"},
    )
    write_layout(plan)
    assert plan_path(plan.root).is_file()
    assert _read(plan.root / "input" / "config" / "checkpointconfig.json") == {
        "LocalPath": "/opt/ml/checkpoints/",
        "S3Uri": "s3://b/ckpt",
    }
    loaded = load_plan(plan.root)
    assert loaded == plan
    assert InstancePlan.from_json(plan.to_json()) == plan


def test_failure_reason(make_plan: MakePlan) -> None:
    plan = make_plan()
    write_layout(plan)
    assert failure_reason(plan.root, 2) == "AlgorithmError: , exit code: 2"
    (plan.root / "output" / "failure").write_text("ExecuteUserScriptError:\nExitCode 1")
    assert failure_reason(plan.root, 1) == (
        "AlgorithmError: ExecuteUserScriptError:\nExitCode 1, exit code: 1"
    )
    (plan.root / "output" / "failure").write_text("x" * 5000)
    assert len(failure_reason(plan.root, 1)) == 1024
