"""The ``/opt/ml`` tree of one training instance, written before the instance starts.

Formats follow the SageMaker training container contract (COMPAT.md §3.1): the three JSON
files under ``input/config``, an empty directory per File/FastFile channel (Pipe channels get
FIFOs later, never a directory), and the output, model, checkpoint and code directories.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagebrush.container.training._files import atomic_write
from sagebrush.container.training.plan import PIPE, InstancePlan, hosts_path, save_plan

OPT_ML = "/opt/ml"
HOMOGENEOUS_CLUSTER = "homogeneousCluster"
SYSTEM_HOSTS = Path("/etc/hosts")


def base_dir(plan: InstancePlan) -> str:
    """The directory the instance's code sees as ``/opt/ml``.

    Inside a private mount namespace the root really is bound onto ``/opt/ml``; without one,
    the real path is used everywhere (SM_* variables included) so code that only follows the
    environment still works.
    """
    return OPT_ML if plan.use_namespace else str(plan.root)


def resource_config(plan: InstancePlan) -> dict[str, Any]:
    hosts = list(plan.hosts)
    return {
        "current_host": plan.host,
        "current_instance_type": plan.instance_type,
        "current_group_name": HOMOGENEOUS_CLUSTER,
        "hosts": hosts,
        "instance_groups": [
            {
                "instance_group_name": HOMOGENEOUS_CLUSTER,
                "instance_type": plan.instance_type,
                "hosts": hosts,
            }
        ],
        "network_interface_name": plan.network_interface_name,
    }


def input_data_config(plan: InstancePlan) -> dict[str, dict[str, str]]:
    config: dict[str, dict[str, str]] = {}
    for channel in plan.channels:
        entry: dict[str, str] = {}
        if channel.content_type is not None:
            entry["ContentType"] = channel.content_type
        entry["TrainingInputMode"] = channel.input_mode
        entry["S3DistributionType"] = channel.distribution
        # SageMaker writes the string "None", not null, when no wrapper is set.
        entry["RecordWrapperType"] = channel.record_wrapper or "None"
        config[channel.name] = entry
    return config


def write_layout(plan: InstancePlan, system_hosts: Path = SYSTEM_HOSTS) -> None:
    """Create the instance tree under ``plan.root``, its hosts file and its stored plan."""
    root = plan.root
    for rel in (
        "input/config",
        "input/data",
        "model",
        "output/data",
        "output/intermediate",
        "checkpoints",
        "code",
    ):
        (root / rel).mkdir(parents=True, exist_ok=True)
    for channel in plan.channels:
        if channel.input_mode != PIPE:
            (root / "input" / "data" / channel.name).mkdir(exist_ok=True)

    config = root / "input" / "config"
    _write_json(config / "hyperparameters.json", dict(plan.hyperparameters))
    _write_json(config / "inputdataconfig.json", input_data_config(plan))
    _write_json(config / "resourceconfig.json", resource_config(plan))
    if plan.checkpoint is not None:
        _write_json(config / "checkpointconfig.json", dict(plan.checkpoint))
    atomic_write(hosts_path(root), hosts_file_text(plan.hosts, system_hosts))
    save_plan(plan)


def hosts_file_text(hosts: tuple[str, ...], system_hosts: Path = SYSTEM_HOSTS) -> str:
    """Every ``algo-N`` resolves to the loopback: all instances are processes on this machine.

    The machine's own entries are kept (after ours, so ours win) because the host name and any
    site-specific names must keep resolving for code that relies on them.
    """
    lines = [
        "# Written by Sagebrush: the job's instances are local processes on this machine.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
    ]
    if hosts:
        lines.append("127.0.0.1\t" + " ".join(hosts))
    ours = set(hosts)
    try:
        existing = system_hosts.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        existing = []
    for line in existing:
        names = line.split("#", 1)[0].split()[1:]
        if names and not ours.intersection(names):
            lines.append(line)
    return "\n".join(lines) + "\n"


def _write_json(path: Path, obj: object) -> None:
    atomic_write(path, json.dumps(obj))


FAILURE_REASON_LIMIT = 1024  # DescribeTrainingJob's FailureReason maximum length


def failure_reason(root: Path, exit_code: int) -> str:
    """The FailureReason SageMaker reports for an instance that exited with ``exit_code``.

    SageMaker prefixes the container's ``/opt/ml/output/failure`` text (empty when the
    container wrote none) and appends the exit status.
    """
    try:
        text = (root / "output" / "failure").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    head, tail = "AlgorithmError: ", f", exit code: {exit_code}"
    room = FAILURE_REASON_LIMIT - len(head) - len(tail)
    if len(text) > room:
        text = text[: room - 3] + "..."
    return head + text + tail
