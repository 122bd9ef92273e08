"""`eval "$(sagebrush env)"` in a fresh shell makes unchanged SDK code work offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sagebrush.testing import Server
from tests.e2e._offline import run_offline

ROOT = Path(__file__).resolve().parents[2]

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


def test_the_example_script_runs(server: Server, tmp_path: Path) -> None:
    example = ROOT / "examples" / "s3_and_sdk_basics.py"
    proc = _fresh_shell(server, tmp_path, f"{sys.executable} {example}")
    assert "multipart round trip ok" in proc.stdout


@pytest.mark.slow
def test_the_training_example_runs(server: Server, tmp_path: Path) -> None:
    example = ROOT / "examples" / "training_script_mode.py"
    proc = _fresh_shell(server, tmp_path, f"{sys.executable} {example}")
    assert "script mode training ok" in proc.stdout
    assert "validation:accuracy" in proc.stdout


@pytest.mark.slow
def test_the_builtin_algorithms_example_runs(server: Server, tmp_path: Path) -> None:
    example = ROOT / "examples" / "builtin_algorithms.py"
    proc = _fresh_shell(server, tmp_path, f"{sys.executable} {example}")
    assert "built-in algorithms ok" in proc.stdout
    assert "'validation:auc'" in proc.stdout
    assert "'test:msd'" in proc.stdout
    assert "'test:binary_classification_accuracy'" in proc.stdout


@pytest.mark.slow
def test_the_endpoints_example_runs(server: Server, tmp_path: Path) -> None:
    example = ROOT / "examples" / "endpoints.py"
    proc = _fresh_shell(server, tmp_path, f"{sys.executable} {example}")
    assert "endpoints example ok" in proc.stdout
    assert "TargetVariant=B answered by B" in proc.stdout
    assert "after the update, C answers" in proc.stdout


@pytest.mark.slow
def test_the_batch_transform_example_runs(server: Server, tmp_path: Path) -> None:
    example = ROOT / "examples" / "batch_transform.py"
    proc = _fresh_shell(server, tmp_path, f"{sys.executable} {example}")
    assert "batch transform example ok" in proc.stdout
    assert "first lines (id,probability):\n  customer-02000," in proc.stdout
    assert "/examples/transform/output/2024/part-1.csv.out" in proc.stdout


@pytest.mark.slow
def test_the_hyperparameter_tuning_example_runs(server: Server, tmp_path: Path) -> None:
    example = ROOT / "examples" / "hyperparameter_tuning.py"
    proc = _fresh_shell(server, tmp_path, f"{sys.executable} {example}")
    assert "hyperparameter tuning example ok" in proc.stdout
    assert ": 8 trials" in proc.stdout
    assert "warm start: best over both tuning jobs: xgb-" in proc.stdout
    found = proc.stdout.split("best first:\n")[1].splitlines()
    aucs = [float(line.split("validation:auc=")[1]) for line in found if "validation:auc=" in line]
    assert aucs and aucs == sorted(aucs, reverse=True) and min(aucs) > 0.97
