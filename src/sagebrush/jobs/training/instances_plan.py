"""From a CreateTrainingJob request to one :class:`InstancePlan` per instance."""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sagebrush.container.images import ImageRuntime
from sagebrush.container.training.plan import ChannelPlan, InstancePlan
from sagebrush.jobs.training.instances import shape


def hosts(count: int) -> tuple[str, ...]:
    return tuple(f"algo-{n}" for n in range(1, count + 1))


def decoded(value: str) -> Any:
    """A hyperparameter as the toolkit sees it: JSON where it parses, else the string."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def channel_plans(spec: Mapping[str, Any]) -> tuple[ChannelPlan, ...]:
    job_mode = spec["AlgorithmSpecification"].get("TrainingInputMode", "File")
    plans = []
    for channel in spec.get("InputDataConfig") or []:
        source = channel["DataSource"].get("S3DataSource") or {}
        plans.append(
            ChannelPlan(
                name=channel["ChannelName"],
                input_mode=channel.get("InputMode") or job_mode,
                content_type=channel.get("ContentType"),
                distribution=source.get("S3DataDistributionType", "FullyReplicated"),
                record_wrapper=channel.get("RecordWrapperType"),
            )
        )
    return tuple(plans)


def instance_plans(
    *,
    job_name: str,
    job_arn: str,
    region: str,
    spec: Mapping[str, Any],
    image: ImageRuntime,
    job_dir: Path,
    endpoint_url: str,
    venv_cache: Path,
    use_namespace: bool,
) -> list[InstancePlan]:
    resources = spec["ResourceConfig"]
    count = int(resources.get("InstanceCount", 1))
    instance_type = resources.get("InstanceType", "ml.m5.large")
    algorithm = spec["AlgorithmSpecification"]
    entrypoint = tuple(algorithm.get("ContainerEntrypoint") or ())
    runtime = "command" if entrypoint else image.kind
    the_shape = shape(instance_type)
    names = hosts(count)
    port = _free_port() if count > 1 else 0
    return [
        InstancePlan(
            job_name=job_name,
            job_arn=job_arn,
            region=region,
            host=host,
            hosts=names,
            instance_type=instance_type,
            root=job_dir / host,
            hyperparameters=dict(spec.get("HyperParameters") or {}),
            channels=channel_plans(spec),
            environment=dict(spec.get("Environment") or {}),
            num_cpus=the_shape.vcpus,
            num_gpus=the_shape.gpus if _host_gpus() else 0,
            memory_mib=the_shape.memory_mib,
            runtime=runtime,
            image_dir=image.image_dir,
            framework=image.framework,
            entrypoint=entrypoint,
            arguments=tuple(algorithm.get("ContainerArguments") or ()),
            endpoint_url=endpoint_url,
            master_addr=names[0],
            master_port=port,
            venv_cache=venv_cache,
            use_namespace=use_namespace,
            checkpoint=_checkpoint(spec),
        )
        for host in names
    ]


def _checkpoint(spec: Mapping[str, Any]) -> dict[str, str] | None:
    config = spec.get("CheckpointConfig")
    if not config:
        return None
    return {
        "LocalPath": config.get("LocalPath") or "/opt/ml/checkpoints/",
        "S3Uri": config["S3Uri"],
    }


def _free_port() -> int:
    """A port for the job's rendezvous (instances share this machine's loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _host_gpus() -> bool:
    return Path("/dev/nvidiactl").exists()
