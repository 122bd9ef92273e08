"""Distributed launches for script mode: torchrun and MPI, over the shared loopback.

The SDK turns ``distribution=`` into framework hyperparameters; the framework images pick a
runner from them. Every instance of a Sagebrush job is a process on one machine, so:

- ``torch_distributed``, ``pytorchddp`` and ``smdistributed.dataparallel`` all launch
  ``python -m torch.distributed.run`` (torchrun) on every instance with the job's own
  rendezvous port. SageMaker runs pytorchddp and smdataparallel through MPI and its
  ``smddpmprun``, which do not exist here; torchrun gives scripts the same RANK /
  WORLD_SIZE / LOCAL_RANK / MASTER_* variables.
- MPI launches every rank from the master instance with a local ``mpirun``; the other
  instances have nothing to run (in SageMaker their ranks are started over ssh).

Processes per host follow the toolkit: ``sagemaker_mpi_num_of_processes_per_host`` if set,
else one per GPU, else 1. ``SAGEBRUSH_PROCESSES_PER_HOST`` in the request Environment
overrides both, for CPU jobs that want more than one worker.
"""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagebrush.container.training._errors import ClientError
from sagebrush.container.training.plan import InstancePlan

NONE, TORCH, MPI = "none", "torch", "mpi"
DEFAULT_MASTER_PORT = 7777  # what the SageMaker toolkits use
PROCESSES_OVERRIDE_ENV = "SAGEBRUSH_PROCESSES_PER_HOST"
TORCH_FLAGS = (
    "sagemaker_torch_distributed_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_distributed_dataparallel_enabled",
)


@dataclass(frozen=True)
class Distribution:
    kind: str  # "none" | "torch" | "mpi"
    processes_per_host: int
    master_addr: str
    master_port: int


def distribution(
    plan: InstancePlan, framework_params: Mapping[str, Any], env: Mapping[str, str]
) -> Distribution:
    if framework_params.get("sagemaker_mpi_enabled"):
        kind = MPI
    elif any(framework_params.get(flag) for flag in TORCH_FLAGS):
        kind = TORCH
    else:
        kind = NONE
    default = plan.num_gpus if plan.num_gpus > 0 else 1
    per_host = int(framework_params.get("sagemaker_mpi_num_of_processes_per_host") or default)
    if env.get(PROCESSES_OVERRIDE_ENV):
        per_host = int(env[PROCESSES_OVERRIDE_ENV])
    return Distribution(
        kind=kind,
        processes_per_host=max(1, per_host),
        master_addr=resolvable_master(plan.master_addr),
        master_port=plan.master_port or DEFAULT_MASTER_PORT,
    )


def resolvable_master(name: str) -> str:
    """``algo-1`` resolves only inside a namespace with our hosts file; else the loopback."""
    try:
        socket.gethostbyname(name)
    except OSError:
        return "127.0.0.1"
    return name


def distributed_env(plan: InstancePlan, dist: Distribution) -> dict[str, str]:
    """What the PyTorch image exports for every job, distributed or not."""
    interface = plan.network_interface_name
    if not Path("/sys/class/net", interface).exists():
        interface = "lo"  # the hosts are all on the loopback; a missing NIC would stall NCCL
    return {
        "MASTER_ADDR": dist.master_addr,
        "MASTER_PORT": str(dist.master_port),
        "NCCL_SOCKET_IFNAME": interface,
        "NCCL_IB_DISABLE": "1",
        "NCCL_DEBUG": "WARN",
    }


def torchrun_command(
    python: str, plan: InstancePlan, dist: Distribution, program: str, args: list[str]
) -> list[str]:
    # Rendezvous options are always passed (the toolkit omits them on one node): torchrun's
    # single-node default port would collide between concurrent jobs on one machine.
    return [
        python,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        str(len(plan.hosts)),
        "--nproc_per_node",
        str(dist.processes_per_host),
        "--node_rank",
        str(plan.host_index),
        "--master_addr",
        dist.master_addr,
        "--master_port",
        str(dist.master_port),
        program,
        *args,
    ]


def find_mpirun(env: Mapping[str, str]) -> str:
    mpirun = shutil.which("mpirun", path=env.get("PATH"))
    if mpirun is None:
        raise ClientError(
            "MPI is not installed: distribution 'mpi' (sagemaker_mpi_enabled) needs `mpirun` "
            "on the PATH of the Sagebrush server. Install Open MPI or use torch_distributed."
        )
    return mpirun


def is_open_mpi(mpirun: str) -> bool:
    try:
        out = subprocess.run(
            [mpirun, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return "Open MPI" in out.stdout + out.stderr or "OpenRTE" in out.stdout + out.stderr


def mpi_command(
    mpirun: str,
    *,
    open_mpi: bool,
    plan: InstancePlan,
    dist: Distribution,
    framework_params: Mapping[str, Any],
    program_cmd: list[str],
    as_root: bool,
) -> list[str]:
    total = framework_params.get("sagemaker_mpi_num_processes") or (
        dist.processes_per_host * len(plan.hosts)
    )
    cmd = [mpirun, "-np", str(int(total))]
    if open_mpi:
        # Every rank is local: allow more ranks than cores, and root as in the DLC images.
        cmd += ["--oversubscribe"] + (["--allow-run-as-root"] if as_root else [])
    custom = framework_params.get("sagemaker_mpi_custom_mpi_options") or ""
    cmd += shlex.split(str(custom))
    return cmd + program_cmd
