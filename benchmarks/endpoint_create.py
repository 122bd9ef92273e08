"""Endpoint start-up: CreateEndpoint -> InService, against one model process answering /ping.

Model: the 100-tree XGBoost model of ``endpoint_throughput.py`` (2,000 x 30 seeded rows),
uploaded once as model.tar.gz, with one CreateModel (SageMaker's XGBoost 1.7-1 image URI)
and one CreateEndpointConfig (one ml.m5.large instance). Then ``--endpoints`` (default 10)
endpoints of it, distinct names, created one after another through boto3, each timed from
CreateEndpoint to DescribeEndpoint saying InService (polled every 20 ms), and all deleted
at the end (DeleteEndpoint until DescribeEndpoint no longer finds it, also timed).
Baseline in the same run, alternating with the creates: a bare
``python -m sagebrush.algorithms.serving xgboost <model_dir> --port P`` from its start to
its first 200 on ``GET /ping`` (polled every 20 ms) — the floor for one instance, as the
process an endpoint's instance runs is this one.
Target: p50 CreateEndpoint -> InService <= 2 s.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _xgb_model import register, train
from endpoint_throughput import free_port

POLL = 0.02


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=10)
    args = parser.parse_args()
    from sagebrush.testing import start_server

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_file = train(root)
        server = start_server(root / "home")
        creates, floors, deletes = [], [], []
        try:
            sm = server.client("sagemaker")
            prepare(server, model_file)
            names = [f"bench-{n}" for n in range(args.endpoints)]
            for name in names:
                # Alternated, so a busy spell on a shared machine hits both sides alike.
                floors.append(bare_process(model_file.parent))
                creates.append(create(sm, name))
                print(
                    f"  {name}: InService after {creates[-1]:.2f} s, bare process /ping "
                    f"after {floors[-1]:.2f} s",
                    flush=True,
                )
            deletes = [delete(sm, name) for name in names]
        finally:
            server.stop()
    print(f"\n{args.endpoints} endpoints, one after another, 1 instance each")
    print(f"{'':<40}{'p50 s':>8}{'max s':>8}")
    for label, values in (
        ("CreateEndpoint -> InService", creates),
        ("bare model process start -> /ping 200", floors),
        ("DeleteEndpoint -> gone", deletes),
    ):
        print(f"{label:<40}{statistics.median(values):>8.2f}{max(values):>8.2f}")
    p50 = statistics.median(creates)
    print(f"p50 CreateEndpoint -> InService: {p50:.2f} s  (target <= 2 s)")
    print(f"ratio to the bare process (p50s): {p50 / statistics.median(floors):.2f}")


def prepare(server: Any, model_file: Path) -> None:
    register(server, model_file)
    sm = server.client("sagemaker")
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "bench",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sm.create_endpoint_config(EndpointConfigName="bench", ProductionVariants=[variant])


def create(sm: Any, name: str) -> float:
    begin = time.perf_counter()
    sm.create_endpoint(EndpointName=name, EndpointConfigName="bench")
    while (endpoint := sm.describe_endpoint(EndpointName=name))["EndpointStatus"] == "Creating":
        time.sleep(POLL)
    elapsed = time.perf_counter() - begin
    status = endpoint["EndpointStatus"]
    assert status == "InService", f"{name}: {status}: {endpoint.get('FailureReason')}"
    return elapsed


def delete(sm: Any, name: str) -> float:
    begin = time.perf_counter()
    sm.delete_endpoint(EndpointName=name)
    while True:
        try:
            status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        except sm.exceptions.ClientError as exc:
            assert "Could not find" in str(exc), exc
            return time.perf_counter() - begin
        assert status == "Deleting", f"{name}: {status} after DeleteEndpoint"
        time.sleep(POLL)


def bare_process(model_dir: Path) -> float:
    port = free_port()
    command = [sys.executable, "-m", "sagebrush.algorithms.serving", "xgboost", str(model_dir)]
    begin = time.perf_counter()
    process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        while True:
            assert process.poll() is None, f"the model server exited with {process.returncode}"
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/ping")
                if connection.getresponse().status == 200:
                    return time.perf_counter() - begin
            except OSError:
                pass
            time.sleep(POLL)
    finally:
        process.terminate()
        process.wait(timeout=20)


if __name__ == "__main__":
    main()
