"""PyTorch DDP (gloo, CPU) through the SDK's PyTorch estimator: 2 instances x 2 processes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from sagebrush.testing import Server
from tests._system import require
from tests.e2e._offline import run_offline

DDP_PY = r"""
import os
import sys
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value)
gathered = [torch.zeros(1) for _ in range(world)]
dist.all_gather(gathered, torch.tensor([float(rank)]))
# One write per line: two ranks share an instance's output, and the toolkit runs Python
# unbuffered, where print() writes the text and its newline separately.
sys.stdout.write(f"rank {rank} of {world} on {os.environ['SM_CURRENT_HOST']}: "
                 f"sum={value.item()} ranks={[int(t.item()) for t in gathered]}\n")
sys.stdout.flush()
if rank == 0:
    torch.save({"sum": value}, os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
dist.barrier()
dist.destroy_process_group()
"""

SDK_SCRIPT = r"""
import io, tarfile
import boto3, sagemaker
from sagemaker.pytorch import PyTorch

session = sagemaker.Session()
estimator = PyTorch(
    entry_point="ddp.py",
    source_dir="src",
    image_uri="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-cpu-py311",
    instance_count=2,
    instance_type="ml.m5.xlarge",
    role="arn:aws:iam::000000000000:role/SagebrushExecutionRole",
    sagemaker_session=session,
    distribution={"torch_distributed": {"enabled": True}},
    # CPU instances: two worker processes per instance (GPU instances get one per GPU).
    environment={"SAGEBRUSH_PROCESSES_PER_HOST": "2"},
)
estimator.fit(logs=False)
bucket, key = estimator.model_data[len("s3://"):].split("/", 1)
body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
with tarfile.open(fileobj=io.BytesIO(body)) as tar:
    names = [m.name for m in tar.getmembers() if m.isfile()]
    assert names == ["model.pt"], names  # saved once, by rank 0
logs = boto3.client("logs").filter_log_events(
    logGroupName="/aws/sagemaker/TrainingJobs",
    logStreamNamePrefix=estimator.latest_training_job.name + "/")["events"]
lines = sorted(e["message"] for e in logs if e["message"].startswith("rank "))
print("\n".join(lines))
assert len(lines) == 4, lines
assert all("sum=10.0 ranks=[0, 1, 2, 3]" in line for line in lines), lines
assert sum("on algo-2" in line for line in lines) == 2, lines
print("OK")
"""


@pytest.mark.slow
def test_pytorch_ddp_two_instances_two_processes_each(server: Server, tmp_path: Path) -> None:
    require(importlib.util.find_spec("torch") is not None, "torch", 'pip install -e ".[test]"')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ddp.py").write_text(DDP_PY)
    (tmp_path / "fit.py").write_text(SDK_SCRIPT)
    proc = run_offline(server, tmp_path, f"{sys.executable} fit.py")
    assert "OK" in proc.stdout
