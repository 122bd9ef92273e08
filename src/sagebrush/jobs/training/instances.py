"""What an ML instance type means on this machine: vCPUs, memory and GPUs.

SageMaker's families follow a pattern (``large`` = 2 vCPUs, ``xlarge`` = 4, ``Nxlarge`` =
4·N) with a memory-per-vCPU ratio per family; GPU counts come from a table. The shape sets
``SM_NUM_CPUS`` (what the code is told it has) and the thread limits (capped at this
machine's cores, so a job asking for 96 vCPUs does not start 96 BLAS threads on 2 cores).
Documented in docs/architecture.md ("Instance types").
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

# GiB of memory per vCPU, by family letters (ml.<family><generation>...).
_MEMORY_PER_VCPU = {
    "t": 2,
    "m": 4,
    "c": 2,
    "r": 8,
    "x": 16,
    "z": 8,
    "p": 8,
    "g": 4,
    "inf": 2,
    "trn": 4,
}
# GPUs (or accelerators) by instance type, for the types that have them.
_GPUS = {
    "ml.p2.xlarge": 1,
    "ml.p2.8xlarge": 8,
    "ml.p2.16xlarge": 16,
    "ml.p3.2xlarge": 1,
    "ml.p3.8xlarge": 4,
    "ml.p3.16xlarge": 8,
    "ml.p3dn.24xlarge": 8,
    "ml.p4d.24xlarge": 8,
    "ml.p4de.24xlarge": 8,
    "ml.p5.48xlarge": 8,
    "ml.p5e.48xlarge": 8,
    "ml.g4dn.xlarge": 1,
    "ml.g4dn.2xlarge": 1,
    "ml.g4dn.4xlarge": 1,
    "ml.g4dn.8xlarge": 1,
    "ml.g4dn.16xlarge": 1,
    "ml.g4dn.12xlarge": 4,
    "ml.g5.xlarge": 1,
    "ml.g5.2xlarge": 1,
    "ml.g5.4xlarge": 1,
    "ml.g5.8xlarge": 1,
    "ml.g5.16xlarge": 1,
    "ml.g5.12xlarge": 4,
    "ml.g5.24xlarge": 4,
    "ml.g5.48xlarge": 8,
    "ml.g6.xlarge": 1,
    "ml.g6.2xlarge": 1,
    "ml.g6.4xlarge": 1,
    "ml.g6.8xlarge": 1,
    "ml.g6.16xlarge": 1,
    "ml.g6.12xlarge": 4,
    "ml.g6.24xlarge": 4,
    "ml.g6.48xlarge": 8,
}
_TYPE = re.compile(r"^ml\.(?P<family>[a-z]+)\d+[a-z]*\.(?P<size>medium|large|(?P<n>\d*)xlarge)$")


@dataclass(frozen=True)
class Shape:
    instance_type: str
    vcpus: int
    memory_mib: int
    gpus: int

    @property
    def threads(self) -> int:
        """Threads a job on one such instance should use here."""
        return max(1, min(self.vcpus, os.cpu_count() or 1))


def shape(instance_type: str) -> Shape:
    match = _TYPE.match(instance_type)
    if match is None:  # unusual names (ml.trn1n.32xlarge...) fall back to a modest shape
        return Shape(instance_type, 4, 16 * 1024, _GPUS.get(instance_type, 0))
    size = match["size"]
    vcpus = 2 if size in ("medium", "large") else 4 * int(match["n"] or 1)
    family = match["family"]
    ratio = next(
        (
            v
            for k, v in sorted(_MEMORY_PER_VCPU.items(), key=lambda kv: -len(kv[0]))
            if family.startswith(k)
        ),
        4,
    )
    memory = vcpus * ratio * 1024 if size != "medium" else 4 * 1024
    return Shape(instance_type, vcpus, memory, _GPUS.get(instance_type, 0))
