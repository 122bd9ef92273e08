"""`sagebrush logs <job> [--follow]` prints a job's streams through the Logs API."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from typing import Any

from sagebrush.testing import Server

GROUP = "/aws/sagemaker/TrainingJobs"


def _put(logs: Any, stream: str, *messages: str) -> None:
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
    )


def _setup(server: Server, job: str) -> Any:
    logs = server.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=GROUP)
    for n in (1, 2):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=f"{job}/algo-{n}-1700000000")
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
    logs = _setup(server, "follow-job")
    _put(logs, "follow-job/algo-1-1700000000", "first")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sagebrush",
            "logs",
            "follow-job",
            "--follow",
            "--home",
            str(server.home),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "[algo-1-1700000000] first"
        _put(logs, "follow-job/algo-2-1700000000", "second")
        assert proc.stdout.readline().strip() == "[algo-2-1700000000] second"
        _put(logs, "follow-job/algo-1-1700000000", "third")
        assert proc.stdout.readline().strip() == "[algo-1-1700000000] third"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
