"""Batch transform throughput: a built-in XGBoost transform job against pandas + xgboost.

Data: ``--rows`` (default 1,000,000) rows x 30 seeded float32 features (standard normal,
written as their shortest text by pyarrow: ~330 MB), no id column, no label, no header,
in ``--files`` (default 4) CSV files of equal size, written once to a temp dir and
uploaded as that many S3 objects. SageMaker deals whole files to instances, so there must
be at least as many files as instances. Model: 100 trees, binary:logistic, max_depth 6,
trained here on 2,000 x 30 seeded rows.

Job: SageMaker's XGBoost 1.7-1 image URI through boto3 ``create_transform_job`` with
``SplitType=Line``, ``BatchStrategy=MultiRecord``, ``MaxPayloadInMB=6``,
``AssembleWith=Line``, ``text/csv`` in and out, ``--instances`` (default 2) ml.m5.large
and ``MaxConcurrentTransforms`` unset (so the container's ``/execution-parameters``
decides), timed from CreateTransformJob to DescribeTransformJob saying Completed (polled
every 0.2 s). Every job's outputs are checked: one ``.out`` per input file, one line per
input row; every prediction equal to the baseline's within 1e-6; and a sample of rows,
parsed here from the input text, equal to ``Booster.inplace_predict`` within 1e-6.
The job's time is split by a second job with the same settings on one-row files: its
Create -> Completed is the fixed cost (instances started until their ``/ping`` answers,
the container's parameters, the instances stopped); the rest is processing. The CPU
seconds the server process and the model servers spend during the job are read from
``/proc`` (Linux).

Baselines, one process each, the same code for both: ``pandas.read_csv`` of each file,
``booster.inplace_predict`` (xgboost's default threads: every core) and the predictions
written one per line, as the job writes them:
- in-process: timed in this already-warm process with the model already loaded;
- a script: a fresh ``python`` process, timed from its start to its exit (interpreter
  start, imports and loading the model included, as the job pays its equivalents).
Job and baselines alternate ``--repeat`` times (default 3) and the medians are compared.
Target: transform rows/s >= 0.8x the single process's — the script: one process doing
the work, from its start to its end, as a user would run it instead of the job. The warm
in-process loop is printed beside it as the stricter reference: it pays no interpreter
start, imports or model load, while the job's fixed cost (its instances starting) is paid
in every job, so the job's processing alone is compared with it too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import xgboost as xgb
from _xgb_model import FEATURES, register, train

from sagebrush.testing import Server, start_server

SAMPLE = 2000  # rows per file checked against inplace_predict on their own text
# The baseline as one would write it. Run as a script and exec'd here: the same code.
PREDICT = """
from pathlib import Path
import numpy as np, pandas as pd

def predict(booster, paths, out):
    for path in paths:
        frame = pd.read_csv(path, header=None, dtype=np.float32)
        scores = booster.inplace_predict(frame.to_numpy())
        text = "".join(f"{s}\\n" for s in scores.astype(np.float64).tolist())
        (out / f"{path.name}.out").write_text(text)
"""
SCRIPT = (
    PREDICT
    + """
import sys
import xgboost as xgb
booster = xgb.Booster(model_file=bytearray(Path(sys.argv[1]).read_bytes()))
predict(booster, [Path(p) for p in sys.argv[3:]], Path(sys.argv[2]))
"""
)
Predict = Callable[[xgb.Booster, list[Path], Path], None]


@dataclass(frozen=True)
class Job:
    seconds: float
    cpu: dict[str, float]  # CPU seconds during the job: "server", "model servers"


@dataclass(frozen=True)
class Expected:
    """What every job's outputs must hold, file by file."""

    names: list[str]
    scores: dict[str, np.ndarray]  # the baseline's predictions
    sample_rows: dict[str, np.ndarray]  # row indexes
    sample_scores: dict[str, np.ndarray]  # inplace_predict on those rows' text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="job/baseline rounds (medians)")
    args = parser.parse_args()
    if args.files < args.instances:
        parser.error("--files must be at least --instances: each file goes to one instance")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        begin = time.perf_counter()
        files = write_inputs(root / "input", args.rows, args.files)
        size = sum(f.stat().st_size for f in files)
        print(
            f"data: {args.rows:,} x {FEATURES} CSV in {len(files)} files "
            f"({len(files)} S3 objects), {size / 1e6:.0f} MB, written in "
            f"{time.perf_counter() - begin:.1f} s",
            flush=True,
        )
        model_file = train(root, seed=1)
        booster = xgb.Booster(model_file=bytearray(model_file.read_bytes()))
        predict = compiled_baseline()
        out = root / "baseline-out"
        out.mkdir()
        predict(booster, files[:1], out)  # warms pandas, xgboost and the page cache
        server = start_server(root / "home")
        jobs, fixed, in_process, in_process_cpu, scripts = [], [], [], [], []
        try:
            upload(server, model_file, files)
            for n in range(args.repeat):
                # Alternated, so a busy spell on a shared machine hits both sides alike.
                begin, cpu = time.perf_counter(), time.process_time()
                predict(booster, files, out)
                in_process.append(time.perf_counter() - begin)
                in_process_cpu.append(time.process_time() - cpu)
                if n == 0:
                    expected = expectations(files, out, booster)
                scripts.append(baseline_script(root, model_file, files))
                fixed.append(run_job(server, f"bench-fixed-{n}", "tiny/", args.instances))
                jobs.append(run_job(server, f"bench-transform-{n}", "input/", args.instances))
                check(server, f"bench-transform-{n}", expected)
                print(
                    f"  round {n}: job {jobs[-1].seconds:.2f} s (fixed cost "
                    f"{fixed[-1].seconds:.2f} s), in-process {in_process[-1]:.2f} s, "
                    f"script {scripts[-1]:.2f} s",
                    flush=True,
                )
        finally:
            server.stop()
    report(
        args.rows,
        jobs=jobs,
        fixed=fixed,
        in_process=in_process,
        in_process_cpu=in_process_cpu,
        scripts=scripts,
    )


def write_inputs(directory: Path, rows: int, files: int) -> list[Path]:
    directory.mkdir()
    rng = np.random.default_rng(0)
    options = pa_csv.WriteOptions(include_header=False)
    paths = []
    for n, count in enumerate(np.diff(np.linspace(0, rows, files + 1).astype(int))):
        X = rng.standard_normal((int(count), FEATURES), dtype=np.float32)
        path = directory / f"part-{n:02d}.csv"
        table = pa.table({f"f{i}": X[:, i] for i in range(FEATURES)})
        pa_csv.write_csv(table, str(path), write_options=options)
        paths.append(path)
    return paths


def compiled_baseline() -> Predict:
    namespace: dict[str, Any] = {}
    exec(PREDICT, namespace)
    return namespace["predict"]  # type: ignore[no-any-return]


def baseline_script(root: Path, model_file: Path, files: list[Path]) -> float:
    script, out = root / "baseline.py", root / "script-out"
    script.write_text(SCRIPT)
    out.mkdir(exist_ok=True)
    begin = time.perf_counter()
    command = [sys.executable, str(script), str(model_file), str(out), *map(str, files)]
    subprocess.run(command, check=True)
    return time.perf_counter() - begin


def upload(server: Server, model_file: Path, files: list[Path]) -> None:
    register(server, model_file)
    s3 = server.client("s3")
    begin = time.perf_counter()
    for path in files:
        s3.upload_file(str(path), "bench", f"input/{path.name}")
        with path.open("rb") as f:
            s3.put_object(Bucket="bench", Key=f"tiny/{path.name}", Body=f.readline())
    print(f"uploaded {len(files)} objects in {time.perf_counter() - begin:.1f} s", flush=True)


def run_job(server: Server, name: str, prefix: str, instances: int) -> Job:
    sm = server.client("sagemaker")
    cpu: dict[int, tuple[str, float]] = {}
    sample_cpu(server.process.pid, cpu)
    already = {pid: seconds for pid, (_, seconds) in cpu.items()}
    before = time.perf_counter()
    sm.create_transform_job(
        TransformJobName=name,
        ModelName="bench",
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=6,
        TransformInput={
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://bench/{prefix}"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={
            "S3OutputPath": f"s3://bench/{name}",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": instances},
    )
    while (job := sm.describe_transform_job(TransformJobName=name))[
        "TransformJobStatus"
    ] == "InProgress":
        sample_cpu(server.process.pid, cpu)
        time.sleep(0.2)
    elapsed = time.perf_counter() - before
    status = job["TransformJobStatus"]
    assert status == "Completed", f"{name}: {status}: {job.get('FailureReason')}"
    totals = {"server": 0.0, "model servers": 0.0}
    for pid, (role, seconds) in cpu.items():
        totals[role] += seconds - already.get(pid, 0.0)
    return Job(elapsed, totals)


def sample_cpu(server_pid: int, seen: dict[int, tuple[str, float]]) -> None:
    """CPU seconds so far of the server and of each process under it, by pid. The model
    servers exit as the job ends, so the last sample before that is (within a poll) what
    they used."""
    tick = os.sysconf("SC_CLK_TCK")
    pending = [(server_pid, "server")]
    while pending:
        pid, role = pending.pop()
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        seen[pid] = (role, (int(stat[11]) + int(stat[12])) / tick)  # utime + stime
        pending += [(int(child), "model servers") for child in children]


def expectations(files: list[Path], baseline: Path, booster: xgb.Booster) -> Expected:
    rng = np.random.default_rng(2)
    scores, rows, sampled = {}, {}, {}
    for path in files:
        lines = path.read_bytes().splitlines()
        scores[path.name] = np.array((baseline / f"{path.name}.out").read_text().split(), float)
        assert len(scores[path.name]) == len(lines), f"baseline wrote {path.name} short"
        picked = rng.choice(len(lines), size=min(SAMPLE, len(lines)), replace=False)
        text = np.array([[float(v) for v in lines[i].split(b",")] for i in picked])
        rows[path.name] = picked
        sampled[path.name] = booster.inplace_predict(text.astype(np.float32))
    return Expected([path.name for path in files], scores, rows, sampled)


def check(server: Server, name: str, expected: Expected) -> None:
    s3 = server.client("s3")
    listing = s3.list_objects_v2(Bucket="bench", Prefix=f"{name}/")
    keys = sorted(o["Key"] for o in listing.get("Contents", []))
    wanted = [f"{name}/{file}.out" for file in expected.names]
    assert keys == wanted, f"{name}: output objects {keys}, expected {wanted}"
    for file, key in zip(expected.names, keys, strict=True):
        got = np.array(s3.get_object(Bucket="bench", Key=key)["Body"].read().split(), float)
        theirs = expected.scores[file]
        assert len(got) == len(theirs), f"{key}: {len(got)} lines for {len(theirs)} rows"
        difference = float(np.abs(got - theirs).max())
        assert difference <= 1e-6, f"{key}: differs from the baseline by {difference}"
        picked = expected.sample_rows[file]
        difference = float(np.abs(got[picked] - expected.sample_scores[file]).max())
        assert difference <= 1e-6, f"{key}: differs from inplace_predict by {difference}"


def report(
    rows: int,
    *,
    jobs: list[Job],
    fixed: list[Job],
    in_process: list[float],
    in_process_cpu: list[float],
    scripts: list[float],
) -> None:
    job = statistics.median(j.seconds for j in jobs)
    base, script = statistics.median(in_process), statistics.median(scripts)
    start = statistics.median(j.seconds for j in fixed)
    print(
        f"\n{rows:,} rows x {FEATURES} features, 100-tree XGBoost; every job's outputs "
        f"checked (row counts, all predictions vs the baseline's, {SAMPLE} rows per file "
        "vs inplace_predict: within 1e-6)"
    )
    print(f"{'median of ' + str(len(jobs)):<48}{'seconds':>9}{'rows/s':>11}")
    table = (
        ("transform job, Create -> Completed", job, True),
        ("  fixed cost (same job on one-row files)", start, False),
        ("  processing (the difference)", job - start, True),
        ("pandas + inplace_predict, in-process (warm)", base, True),
        ("pandas + inplace_predict, python script", script, True),
    )
    for name, seconds, rate in table:
        print(f"{name:<48}{seconds:>9.2f}" + (f"{rows / seconds:>11,.0f}" if rate else ""))
    server = statistics.median(j.cpu["server"] for j in jobs)
    models = statistics.median(j.cpu["model servers"] for j in jobs)
    starting = statistics.median(j.cpu["model servers"] for j in fixed)
    print(
        f"CPU seconds (median): job {server + models:.1f} = server {server:.1f} + model "
        f"servers {models:.1f} (~{starting:.1f} of it starting up, as in the fixed-cost job); "
        f"in-process baseline {statistics.median(in_process_cpu):.1f}; {os.cpu_count()} cores"
    )
    print(f"throughput transform / script: {script / job:.2f}x  (target >= 0.8x)")
    print(
        f"throughput transform / in-process: {base / job:.2f}x "
        f"(its processing alone: {base / (job - start):.2f}x)"
    )


if __name__ == "__main__":
    main()
