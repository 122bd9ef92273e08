"""A PostgreSQL URL (`--db`) works like the embedded SQLite: migrations, S3, restarts."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sagebrush.testing import start_server
from tests._system import require

PG_BIN = Path("/usr/lib/postgresql")


def _pg_tool(name: str) -> str | None:
    for version in sorted(PG_BIN.glob("*"), reverse=True):
        tool = version / "bin" / name
        if tool.exists():
            return str(tool)
    return shutil.which(name)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    require(
        bool(initdb and pg_ctl),
        "the PostgreSQL server binaries (initdb, pg_ctl)",
        "apt-get install postgresql",
    )
    assert initdb and pg_ctl
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
    data = Path(tempfile.mkdtemp(prefix="sagebrush-pg-"))
    if as_user:
        shutil.chown(data, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(
        [*as_user, initdb, "-D", str(data / "db"), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {data}"
    subprocess.run(
        [
            *as_user,
            pg_ctl,
            "-D",
            str(data / "db"),
            "-o",
            options,
            "-l",
            str(data / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data / "db"), "-m", "fast", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)


def test_server_on_postgres_keeps_state_across_restarts(postgres_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    srv = start_server(home, "--db", postgres_url)
    try:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket="pg-bucket")
        for i in range(30):
            s3.put_object(Bucket="pg-bucket", Key=f"dir/{i:02d}", Body=f"v{i}".encode())
        page = s3.list_objects_v2(Bucket="pg-bucket", Delimiter="/")
        assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/"]
        iam = srv.client("iam")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam.create_role(RoleName="pg-role", AssumeRolePolicyDocument=json.dumps(policy))
    finally:
        assert srv.stop() == 0
    srv = start_server(home, "--db", postgres_url)
    try:
        s3 = srv.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="pg-bucket")["Contents"]]
        assert keys == [f"dir/{i:02d}" for i in range(30)]
        assert s3.get_object(Bucket="pg-bucket", Key="dir/07")["Body"].read() == b"v7"
        role = srv.client("iam").get_role(RoleName="pg-role")["Role"]
        assert role["Arn"].endswith(":role/pg-role")
    finally:
        srv.stop()


def test_metrics_on_postgres_survive_a_restart(postgres_url: str, tmp_path: Path) -> None:
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    home = tmp_path / "home"
    srv = start_server(home, "--db", postgres_url)
    try:
        srv.client("cloudwatch").put_metric_data(
            Namespace="Test/pg",
            MetricData=[
                {"MetricName": "m", "Timestamp": base + timedelta(seconds=s), "Value": float(s)}
                for s in range(0, 120, 10)
            ],
        )
    finally:
        assert srv.stop() == 0
    srv = start_server(home, "--db", postgres_url)
    try:
        cw = srv.client("cloudwatch")
        request = {
            "Namespace": "Test/pg",
            "MetricName": "m",
            "StartTime": base,
            "EndTime": base + timedelta(minutes=2),
            "Period": 60,
        }
        sums = cw.get_metric_statistics(**request, Statistics=["Sum", "SampleCount"])
        points = sorted(sums["Datapoints"], key=lambda p: p["Timestamp"])
        assert [(p["Sum"], p["SampleCount"]) for p in points] == [(150.0, 6.0), (510.0, 6.0)]
        p50 = cw.get_metric_statistics(**request, ExtendedStatistics=["p50"])
        values = sorted(p["ExtendedStatistics"]["p50"] for p in p50["Datapoints"])
        assert values == [20.0, 80.0]
        assert cw.list_metrics(Namespace="Test/pg")["Metrics"][0]["MetricName"] == "m"
    finally:
        srv.stop()
