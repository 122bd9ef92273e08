"""What the platform decides for one training instance, and where that decision is stored.

The platform builds an ``InstancePlan``, hands it to ``write_layout`` (which also stores it as
JSON beside the instance directory) and launches ``build_command(plan)``. The toolkit process
reads the plan back with ``load_plan(root)``: the plan file is the only channel between the
two, so it must round-trip exactly.

The plan and the hosts file live *beside* the instance root (``<root>.plan.json``,
``<root>.hosts``) rather than inside it, so they never show up under ``/opt/ml`` and two
instances of one job sharing a parent directory never collide.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagebrush.container.training._files import atomic_write

PLAN_VERSION = 1

FILE, PIPE, FAST_FILE = "File", "Pipe", "FastFile"
RUNTIME_SCRIPT, RUNTIME_LOCAL_IMAGE, RUNTIME_COMMAND = "script", "local-image", "command"
# A built-in algorithm: ``framework`` names it (``linear-learner``); it runs as
# ``python -m <ALGORITHMS>.<name with _ for ->`` (``sagebrush.algorithms.linear_learner``).
RUNTIME_BUILTIN = "builtin"
ALGORITHMS_PACKAGE = "sagebrush.algorithms"


@dataclass(frozen=True)
class ChannelPlan:
    name: str
    input_mode: str = FILE  # "File" | "Pipe" | "FastFile"
    content_type: str | None = None
    distribution: str = "FullyReplicated"  # "FullyReplicated" | "ShardedByS3Key"
    record_wrapper: str | None = None  # None | "RecordIO"


@dataclass(frozen=True)
class InstancePlan:
    job_name: str
    job_arn: str
    region: str
    host: str
    hosts: tuple[str, ...]
    instance_type: str
    root: Path
    hyperparameters: Mapping[str, str]
    channels: tuple[ChannelPlan, ...]
    environment: Mapping[str, str]
    num_cpus: int
    num_gpus: int
    memory_mib: int
    runtime: str  # "script" | "local-image" | "command"
    image_dir: Path | None
    framework: str | None
    entrypoint: tuple[str, ...] = ()
    arguments: tuple[str, ...] = ()
    endpoint_url: str = ""
    master_addr: str = "algo-1"
    # 0 leaves the choice to the toolkit (SageMaker's fixed 7777); concurrent distributed jobs
    # share one loopback, so the platform should hand out a free port per job.
    master_port: int = 0
    venv_cache: Path | None = None
    use_namespace: bool = False
    network_interface_name: str = "eth0"
    # CheckpointConfig as the platform writes it to input/config/checkpointconfig.json
    # ({"LocalPath", "S3Uri"}); None when the job has none.
    checkpoint: Mapping[str, str] | None = None

    @property
    def host_index(self) -> int:
        return self.hosts.index(self.host)

    def to_json(self) -> str:
        return json.dumps(_to_dict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> InstancePlan:
        data = json.loads(text)
        version = data.pop("version", None)
        if version != PLAN_VERSION:
            raise ValueError(f"unsupported instance plan version {version!r}")
        return _from_dict(data)


def plan_path(root: Path) -> Path:
    """Where ``write_layout`` stores the plan for the instance rooted at ``root``."""
    return root.with_name(root.name + ".plan.json")


def hosts_path(root: Path) -> Path:
    """The hosts file bound onto ``/etc/hosts`` for the instance rooted at ``root``."""
    return root.with_name(root.name + ".hosts")


def save_plan(plan: InstancePlan) -> Path:
    path = plan_path(plan.root)
    atomic_write(path, plan.to_json())
    return path


def load_plan(root: Path) -> InstancePlan:
    return InstancePlan.from_json(plan_path(root).read_text(encoding="utf-8"))


def _to_dict(plan: InstancePlan) -> dict[str, Any]:
    return {
        "version": PLAN_VERSION,
        "job_name": plan.job_name,
        "job_arn": plan.job_arn,
        "region": plan.region,
        "host": plan.host,
        "hosts": list(plan.hosts),
        "instance_type": plan.instance_type,
        "root": str(plan.root),
        "hyperparameters": dict(plan.hyperparameters),
        "channels": [
            {
                "name": c.name,
                "input_mode": c.input_mode,
                "content_type": c.content_type,
                "distribution": c.distribution,
                "record_wrapper": c.record_wrapper,
            }
            for c in plan.channels
        ],
        "environment": dict(plan.environment),
        "num_cpus": plan.num_cpus,
        "num_gpus": plan.num_gpus,
        "memory_mib": plan.memory_mib,
        "runtime": plan.runtime,
        "image_dir": None if plan.image_dir is None else str(plan.image_dir),
        "framework": plan.framework,
        "entrypoint": list(plan.entrypoint),
        "arguments": list(plan.arguments),
        "endpoint_url": plan.endpoint_url,
        "master_addr": plan.master_addr,
        "master_port": plan.master_port,
        "venv_cache": None if plan.venv_cache is None else str(plan.venv_cache),
        "use_namespace": plan.use_namespace,
        "network_interface_name": plan.network_interface_name,
        "checkpoint": None if plan.checkpoint is None else dict(plan.checkpoint),
    }


def _from_dict(d: dict[str, Any]) -> InstancePlan:
    return InstancePlan(
        job_name=d["job_name"],
        job_arn=d["job_arn"],
        region=d["region"],
        host=d["host"],
        hosts=tuple(d["hosts"]),
        instance_type=d["instance_type"],
        root=Path(d["root"]),
        hyperparameters=dict(d["hyperparameters"]),
        channels=tuple(ChannelPlan(**c) for c in d["channels"]),
        environment=dict(d["environment"]),
        num_cpus=int(d["num_cpus"]),
        num_gpus=int(d["num_gpus"]),
        memory_mib=int(d["memory_mib"]),
        runtime=d["runtime"],
        image_dir=None if d["image_dir"] is None else Path(d["image_dir"]),
        framework=d["framework"],
        entrypoint=tuple(d["entrypoint"]),
        arguments=tuple(d["arguments"]),
        endpoint_url=d["endpoint_url"],
        master_addr=d["master_addr"],
        master_port=int(d["master_port"]),
        venv_cache=None if d["venv_cache"] is None else Path(d["venv_cache"]),
        use_namespace=bool(d["use_namespace"]),
        network_interface_name=d["network_interface_name"],
        checkpoint=d.get("checkpoint"),  # absent from plans written before it existed
    )
