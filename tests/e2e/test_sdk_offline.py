"""`eval "$(sagebrush env)"` in a fresh shell makes unchanged SDK code work offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sagebrush.testing import Server
from tests.e2e._offline import run_offline

SCRIPT = r"""
import time, boto3, sagemaker

identity = boto3.client("sts").get_caller_identity()
assert identity["Account"] == "000000000000", identity
session = sagemaker.Session()
bucket = session.default_bucket()
assert bucket == "sagemaker-us-east-1-000000000000", bucket
with open("train.csv", "w") as f:
    f.write("1,2,3\n4,5,6\n")
start = time.perf_counter()
uri = session.upload_data("train.csv", key_prefix="acceptance/data")
elapsed = time.perf_counter() - start
assert uri == f"s3://{bucket}/acceptance/data/train.csv", uri
body = boto3.client("s3").get_object(Bucket=bucket, Key="acceptance/data/train.csv")["Body"]
assert body.read() == b"1,2,3\n4,5,6\n"
role = boto3.client("iam").get_role(RoleName="SagebrushExecutionRole")["Role"]["Arn"]
print(f"OK upload_seconds={elapsed:.4f} role={role}")
"""


def _fresh_shell(server: Server, tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    return run_offline(server, tmp_path, command)


def test_sdk_session_works_offline_after_env(server: Server, tmp_path: Path) -> None:
    (tmp_path / "check.py").write_text(SCRIPT)
    proc = _fresh_shell(server, tmp_path, f"{sys.executable} check.py")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("OK"))
    upload_seconds = float(line.split("upload_seconds=")[1].split()[0])
    assert upload_seconds < 0.5, line
    assert "role/SagebrushExecutionRole" in line
