"""Real-time inference throughput: a built-in XGBoost endpoint against two other servers.

Model: 100 trees, binary:logistic, max_depth 6, trained here on 2,000 x 30 seeded random
rows. Requests: one CSV row of 30 features each (64 distinct rows, cycled), from 8
concurrent keep-alive clients in a load generator of their own (``_loadgen.py``, the same
for every target). Targets, all started first and each one's answers checked against
``Booster.inplace_predict``:
- Sagebrush: the model behind SageMaker's XGBoost 1.7-1 image URI through boto3
  (CreateModel, CreateEndpointConfig, CreateEndpoint on one ml.m5.large instance), invoked
  at ``POST /endpoints/NAME/invocations`` (unsigned: loopback) — the server's router
  forwarding to the model-server process;
- a minimal Starlette app under uvicorn (uvloop, httptools, 1 worker: our settings),
  ``POST /invocations`` -> parse the row -> ``inplace_predict`` -> text/csv, in a process
  of its own: what serving this model by hand costs. Its booster predicts on one thread,
  as the built-in runtime does for small requests (with xgboost's default, every core,
  OpenMP's spinning threads cut it to ~200 req/s here);
- ``mlflow models serve`` (pyfunc, ``--env-manager local``, its defaults otherwise: one
  uvicorn worker, access log on, written to a file) on the same booster, sent the same row
  as CSV with a header line, ``OMP_NUM_THREADS=1``. mlflow is installed on first use
  into ``.venv-mlflow`` beside the project's own virtualenv; if that fails it is skipped.
Each target gets ``--duration`` seconds (default 10) of measurement, split over
``--rounds`` (default 2) that take the targets in turn, so a busy spell on a shared
machine hits them alike; every slice starts with ``--warmup`` seconds (default 2) that
are not counted.
Targets: throughput >= 0.8x the Starlette app's and >= 3x mlflow's; p99 <= 10 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb
from _loadgen import Result, Target, run
from _xgb_model import FEATURES, register, train

HERE = Path(__file__).resolve().parent
MLFLOW_VENV = HERE.parent / ".venv-mlflow"
CSV = (("Content-Type", "text/csv"),)
SAVE_MLFLOW = """
import sys, mlflow.xgboost, xgboost
booster = xgboost.Booster(model_file=bytearray(open(sys.argv[1], "rb").read()))
mlflow.xgboost.save_model(booster, sys.argv[2])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds, every slice")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds, per target")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-mlflow", action="store_true", help="skip the mlflow baseline")
    args = parser.parse_args()
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        work = workload(train(root))
        targets = {
            "sagebrush endpoint": stack.enter_context(sagebrush(root, work)),
            "starlette + uvicorn": stack.enter_context(starlette(work)),
        }
        if args.no_mlflow:
            print("mlflow: skipped (--no-mlflow)")
        elif (python := mlflow_python()) is None:
            print("mlflow: skipped, it could not be installed (see above)")
        else:
            targets["mlflow models serve"] = stack.enter_context(mlflow(root, python, work))
        names = list(targets)
        for n in range(args.rounds):
            for name in names[n % len(names) :] + names[: n % len(names)]:
                target, bodies = targets[name]
                result = run(
                    target,
                    bodies,
                    clients=args.clients,
                    warmup=args.warmup,
                    duration=args.duration / args.rounds,
                )
                print(
                    f"  round {n}, {name}: {result.rps:.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                    f"p99 {result.p99_ms:.2f} ms",
                    flush=True,
                )
                results[name] = results[name] + result if name in results else result
    report(results, args.clients)


@dataclass(frozen=True)
class Workload:
    model_file: Path
    bodies: list[bytes]  # one CSV row each
    expected: np.ndarray  # the model's score for each row as its text reads back


def workload(model_file: Path) -> Workload:
    rows = np.random.default_rng(1).standard_normal((64, FEATURES), dtype=np.float32)
    bodies = [",".join(f"{v:.6g}" for v in row).encode() for row in rows]
    parsed = np.array([b.split(b",") for b in bodies], dtype=np.float32)
    booster = xgb.Booster(model_file=bytearray(model_file.read_bytes()))
    return Workload(model_file, bodies, booster.inplace_predict(parsed))


@contextlib.contextmanager
def sagebrush(root: Path, work: Workload) -> Iterator[tuple[Target, list[bytes]]]:
    from sagebrush.testing import start_server

    server = start_server(root / "home")
    try:
        register(server, work.model_file)
        sm = server.client("sagemaker")
        sm.create_endpoint_config(
            EndpointConfigName="bench",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "bench",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sm.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
        while (endpoint := sm.describe_endpoint(EndpointName="bench"))[
            "EndpointStatus"
        ] == "Creating":
            time.sleep(0.05)
        status = endpoint["EndpointStatus"]
        assert status == "InService", f"{status}: {endpoint.get('FailureReason')}"
        host, port = server.url.removeprefix("http://").split(":")
        target = Target(host, int(port), "/endpoints/bench/invocations", CSV)
        check(target, work.bodies, work.expected, csv_scores)
        yield target, work.bodies
    finally:
        server.stop()


def starlette_app() -> Any:
    """The baseline server: ``uvicorn endpoint_throughput:starlette_app --factory``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    booster = xgb.Booster(model_file=bytearray(Path(os.environ["BENCH_MODEL"]).read_bytes()))
    # One thread, as the built-in runtime predicts small requests: spreading one row over
    # OpenMP threads only adds their spinning to a 2-core machine's load.
    booster.set_param({"nthread": 1})

    async def invocations(request: Request) -> Response:
        row = np.array((await request.body()).split(b","), dtype=np.float32)
        scores = booster.inplace_predict(row[np.newaxis, :])
        return Response("\n".join(str(float(s)) for s in scores), media_type="text/csv")

    async def ping(request: Request) -> Response:
        return Response(b"")

    routes = [Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)]
    return Starlette(routes=routes)


@contextlib.contextmanager
def starlette(work: Workload) -> Iterator[tuple[Target, list[bytes]]]:
    port = free_port()
    command = [
        *(sys.executable, "-m", "uvicorn", "endpoint_throughput:starlette_app", "--factory"),
        *("--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port)),
        *("--http", "httptools", "--loop", "uvloop", "--workers", "1"),
        *("--log-level", "warning", "--no-access-log"),
    ]
    env = {**os.environ, "BENCH_MODEL": str(work.model_file)}
    with serving(command, port, env):
        target = Target("127.0.0.1", port, "/invocations", CSV)
        check(target, work.bodies, work.expected, csv_scores)
        yield target, work.bodies


def mlflow_python() -> Path | None:
    """``.venv-mlflow``'s python, made on first use; None when mlflow can't be installed."""
    python = MLFLOW_VENV / "bin" / "python"
    probe = [str(python), "-c", "import mlflow, xgboost, pandas"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    print(f"installing mlflow into {MLFLOW_VENV} (first use only; takes a few minutes)")
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(MLFLOW_VENV)
        install = [str(python), "-m", "pip", "install", "-q", "mlflow", "xgboost", "pandas"]
        subprocess.run(install, check=True, timeout=1200)
        subprocess.run(probe, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"mlflow: could not install it: {exc}")
        return None
    return python


@contextlib.contextmanager
def mlflow(root: Path, python: Path, work: Workload) -> Iterator[tuple[Target, list[bytes]]]:
    model_dir = root / "mlflow-model"
    subprocess.run(
        [str(python), "-c", SAVE_MLFLOW, str(work.model_file), str(model_dir)], check=True
    )
    port = free_port()
    command = [
        *(str(python.parent / "mlflow"), "models", "serve", "-m", str(model_dir)),
        *("--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)),
    ]
    header = ",".join(f"f{i}" for i in range(FEATURES)).encode()
    framed = [header + b"\n" + body for body in work.bodies]
    # mlflow runs ``uvicorn`` by name, so its virtualenv's bin must come first on PATH.
    path = f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {
        **os.environ,
        "PATH": path,
        "MLFLOW_TRACKING_URI": f"file://{root}/mlruns",
        "OMP_NUM_THREADS": "1",  # as the other two predict one row
    }
    with serving(command, port, env, timeout=120, log=root / "mlflow.log"):
        target = Target("127.0.0.1", port, "/invocations", CSV)
        check(target, framed, work.expected, json_scores)
        yield target, framed


class serving:
    """A server process in a session of its own, up once its ``/ping`` answers 200."""

    def __init__(
        self,
        command: Sequence[str],
        port: int,
        env: dict[str, str],
        timeout: float = 60,
        log: Path | None = None,
    ) -> None:
        self.command, self.port, self.env, self.timeout = command, port, env, timeout
        self.log = log

    def __enter__(self) -> None:
        out = self.log.open("wb") if self.log else None
        self.process = subprocess.Popen(
            self.command, env=self.env, start_new_session=True, stdout=out, stderr=out
        )
        if out:
            out.close()
        deadline = time.monotonic() + self.timeout
        while True:
            if self.process.poll() is not None:
                tail = self.log.read_text()[-3000:] if self.log else ""
                raise RuntimeError(
                    f"{self.command[0]} exited with {self.process.returncode}\n{tail}"
                )
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/ping")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        # The group holds what the process started (mlflow runs uvicorn as a child).
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post(target: Target, body: bytes) -> bytes:
    connection = http.client.HTTPConnection(target.host, target.port, timeout=30)
    connection.request("POST", target.path, body, dict(target.headers))
    answer = connection.getresponse()
    data = answer.read()
    assert answer.status == 200, f"{answer.status}: {data[:500]!r}"
    return data


def csv_scores(data: bytes) -> list[float]:
    return [float(x) for x in data.replace(b"\n", b",").split(b",") if x.strip()]


def json_scores(data: bytes) -> list[float]:
    return [float(x) for x in json.loads(data)["predictions"]]


def check(
    target: Target,
    bodies: list[bytes],
    expected: np.ndarray,
    parse: Callable[[bytes], list[float]],
) -> None:
    got = np.array([parse(post(target, body))[0] for body in bodies])
    difference = float(np.abs(got - expected).max())
    assert difference <= 1e-6, f"answers differ from inplace_predict by {difference}"


def report(results: dict[str, Result], clients: int) -> None:
    print(f"\n{clients} clients, 1-row CSV requests, 100-tree XGBoost")
    print(f"{'target':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'gen us/req':>12}")
    for name, r in results.items():
        print(
            f"{name:<22}{r.rps:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{r.errors:>8}"
            f"{r.cpu_us_per_request:>12.0f}"
        )
        if r.first_error:
            print(f"  first error: {r.first_error}")
    ours = results["sagebrush endpoint"]
    bare = results["starlette + uvicorn"]
    print(f"throughput sagebrush / starlette: {ours.rps / bare.rps:.2f}x  (target >= 0.8x)")
    if "mlflow models serve" in results:
        other = results["mlflow models serve"]
        print(f"throughput sagebrush / mlflow: {ours.rps / other.rps:.2f}x  (target >= 3x)")
    print(f"sagebrush p99: {ours.p99_ms:.2f} ms  (target <= 10 ms)")


if __name__ == "__main__":
    main()
