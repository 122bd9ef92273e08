"""`sagebrush logs <job> [--follow]` prints a job's streams through the Logs API; with
`--follow` it follows a real training job to its end and exits with its final status."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sagebrush.testing import Server, start_server
from tests.e2e._tiny_training import job_request

GROUP = "/aws/sagemaker/TrainingJobs"
APP_GROUP = "/sagebrush-tests/app"  # a group of no known kind: followed until interrupted
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

# A registered local image: prints a line every 0.25 s for 2 s, then ends as it is told.
TRAIN = """\
#!/usr/bin/env python3
import json, sys, time
hp = json.load(open("/opt/ml/input/config/hyperparameters.json"))
mode = hp.get("mode", "ok")
for i in range(8):
    print(f"line {i}", flush=True)
    time.sleep(0.25)
if mode == "fail":
    open("/opt/ml/output/failure", "w").write("ClientError: it went wrong on purpose")
    sys.exit(3)
if mode == "sleep":
    print("sleeping", flush=True)
    time.sleep(600)
print("done", flush=True)
"""


def _put(logs: Any, stream: str, *messages: str, group: str = GROUP) -> None:
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
    )


def _setup(server: Server, job: str, group: str = GROUP) -> Any:
    logs = server.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    for n in (1, 2):
        logs.create_log_stream(logGroupName=group, logStreamName=f"{job}/algo-{n}-1700000000")
    return logs


def test_logs_prints_every_stream_of_a_job(server: Server) -> None:
    logs = _setup(server, "cli-job")
    _put(logs, "cli-job/algo-1-1700000000", "epoch 1 loss 0.5", "epoch 2 loss 0.25")
    _put(logs, "cli-job/algo-2-1700000000", "worker ready")
    out = subprocess.run(
        [sys.executable, "-m", "sagebrush", "logs", "cli-job", "--home", str(server.home)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert out == [
        "[algo-1-1700000000] epoch 1 loss 0.5",
        "[algo-1-1700000000] epoch 2 loss 0.25",
        "[algo-2-1700000000] worker ready",
    ]


def test_logs_for_an_unknown_job_says_so(server: Server) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sagebrush", "logs", "no-such-job", "--home", str(server.home)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "no log streams" in proc.stderr


def test_logs_follow_prints_new_events_once(server: Server) -> None:
    # A group of no known kind has no job status to end on: followed until interrupted.
    logs = _setup(server, "follow-job", APP_GROUP)
    _put(logs, "follow-job/algo-1-1700000000", "first", group=APP_GROUP)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sagebrush",
            "logs",
            "follow-job",
            "--follow",
            "--group",
            APP_GROUP,
            "--home",
            str(server.home),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "[algo-1-1700000000] first"
        _put(logs, "follow-job/algo-2-1700000000", "second", group=APP_GROUP)
        assert proc.stdout.readline().strip() == "[algo-2-1700000000] second"
        _put(logs, "follow-job/algo-1-1700000000", "third", group=APP_GROUP)
        assert proc.stdout.readline().strip() == "[algo-1-1700000000] third"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


# --- --follow against real training jobs -----------------------------------------------------


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("logs-cli-home")
    image = home / "images" / "chatty"
    image.mkdir(parents=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)
    server = start_server(home, "--stop-grace-seconds", "3")
    server.client("s3").create_bucket(Bucket="out")
    yield server
    server.stop()


def _start_job(srv: Server, mode: str) -> str:
    name = f"chatty-{mode}-{uuid.uuid4().hex[:6]}"
    srv.client("sagemaker").create_training_job(
        **job_request(name, mode, bucket="out", image=f"{ECR}/chatty:latest")
    )
    return name


def _follow(srv: Server, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sagebrush", "logs", name, "--follow", "--home", str(srv.home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"sagebrush logs --follow did not exit:\n{out}\n{err}") from None
    return proc.returncode, out, err


def _all_events(srv: Server, name: str) -> list[str]:
    logs = srv.client("logs")
    streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{name}/")
    [stream] = streams["logStreams"]
    events, token = [], None
    while True:
        kwargs: dict[str, Any] = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(
            logGroupName=GROUP, logStreamName=stream["logStreamName"], **kwargs
        )
        events += [e["message"].rstrip("\n") for e in page["events"]]
        if not page["events"]:
            return events
        token = page["nextForwardToken"]


def test_follow_prints_every_line_once_and_exits_0_when_the_job_completes(srv: Server) -> None:
    name = _start_job(srv, "ok")
    proc = _follow(srv, name)  # before the job has any stream: it waits for them
    code, out, err = _finish(proc)
    assert code == 0, err
    assert err == f"sagebrush: training job {name} Completed\n"
    lines = out.splitlines()
    assert [line for line in lines if line.startswith("line ")] == [f"line {i}" for i in range(8)]
    assert lines.count("done") == 1
    # Exactly the stream's events, each once, in order (the toolkit's own lines included).
    assert lines == _all_events(srv, name)
    job = srv.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Completed"


def test_follow_exits_1_with_the_failure_reason(srv: Server) -> None:
    name = _start_job(srv, "fail")
    code, out, err = _finish(_follow(srv, name))
    assert code == 1
    assert err == f"sagebrush: training job {name} Failed: ClientError: it went wrong on purpose\n"
    assert "line 7" in out.splitlines()


def test_follow_exits_1_once_the_job_is_stopped(srv: Server) -> None:
    sm, logs = srv.client("sagemaker"), srv.client("logs")
    name = _start_job(srv, "sleep")
    proc = _follow(srv, name)
    try:
        deadline = time.monotonic() + 60
        while "sleeping" not in _messages(logs, name):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the job never reached its sleep"
            time.sleep(0.2)
        assert proc.poll() is None  # still following a running job
        sm.stop_training_job(TrainingJobName=name)
        code, out, err = _finish(proc, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert code == 1
    assert err == f"sagebrush: training job {name} Stopped: Training job stopped\n"
    assert out.splitlines().count("sleeping") == 1


def test_follow_of_a_missing_job_exits_2(srv: Server) -> None:
    code, out, err = _finish(_follow(srv, "no-such-training-job"), timeout=60)
    assert code == 2
    assert out == ""
    assert err.startswith("sagebrush: no training job no-such-training-job: ")
    assert "Traceback" not in err


def _messages(logs: Any, name: str) -> list[str]:
    found = []
    for stream in logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{name}/")[
        "logStreams"
    ]:
        page = logs.get_log_events(
            logGroupName=GROUP, logStreamName=stream["logStreamName"], startFromHead=True
        )
        found += [e["message"].rstrip("\n") for e in page["events"]]
    return found
