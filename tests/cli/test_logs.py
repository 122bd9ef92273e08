"""``sagebrush logs --follow``: the loop against in-memory Logs and SageMaker clients.

The fake Logs client pages like the server (a forward token is a place in the stream; at
the end it returns an empty page and itself); the fake SageMaker client plays a list of
answers, and a job may print its last lines in the same step its status turns final.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest

from sagebrush.cli.logs import KINDS, _Tail, follow, followed, where

GROUP = "/aws/sagemaker/TrainingJobs"


class FakeLogs:
    class exceptions:  # botocore's spelling
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self) -> None:
        self.streams: dict[str, list[str]] = {}
        self.page_size = 2

    def describe_log_streams(self, **kwargs: Any) -> dict[str, Any]:
        prefix = kwargs.get("logStreamNamePrefix", "")
        names = sorted(n for n in self.streams if n.startswith(prefix))
        start = int(kwargs.get("nextToken") or 0)
        page = names[start : start + self.page_size]
        out: dict[str, Any] = {"logStreams": [{"logStreamName": n} for n in page]}
        if start + self.page_size < len(names):
            out["nextToken"] = str(start + self.page_size)
        return out

    def get_log_events(self, **kwargs: Any) -> dict[str, Any]:
        events = self.streams[kwargs["logStreamName"]]
        start = int(kwargs.get("nextToken") or 0)
        page = events[start : start + 2]
        return {
            "events": [{"message": m} for m in page],
            "nextForwardToken": str(start + len(page)),
        }


def _error(code: str, message: str = "nope") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}}, "DescribeTrainingJob"
    )


class FakeSageMaker:
    """Plays ``answers`` (a dict, or an exception to raise) one per Describe call, the last
    again forever; ``before`` runs a step's side effect (a job printing) first."""

    def __init__(
        self, answers: list[Any], before: dict[int, Callable[[], None]] | None = None
    ) -> None:
        self.answers = answers
        self.before = before or {}
        self.calls = 0

    def _answer(self, **_: Any) -> dict[str, Any]:
        step = min(self.calls, len(self.answers) - 1)
        if self.calls in self.before:
            self.before[self.calls]()
        self.calls += 1
        answer = self.answers[step]
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    describe_training_job = _answer
    describe_transform_job = _answer
    describe_processing_job = _answer
    describe_endpoint = _answer


def _run(
    logs: FakeLogs, sm: FakeSageMaker, group: str = GROUP, name: str = "job", max_sleeps: int = 50
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    sleeps = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > max_sleeps:
            raise AssertionError("never ended")

    grp, prefix = where(group, name)
    kind, watched = followed(group, name)
    code = follow(_Tail(logs, grp, prefix, out), sm, kind, watched, sleep=sleep, err=err)
    return code, out.getvalue(), err.getvalue()


def training(status: str, **extra: Any) -> dict[str, Any]:
    return {"TrainingJobStatus": status, **extra}


def test_every_line_once_including_those_printed_as_the_job_ends() -> None:
    logs = FakeLogs()
    stream = "job/algo-1-1700000000"

    def start() -> None:
        logs.streams[stream] = ["one", "two", "three"]

    def more() -> None:
        logs.streams[stream] += ["four", "five"]

    def last() -> None:  # flushed in the same instant the status turns Completed
        logs.streams[stream] += ["six", "seven"]

    sm = FakeSageMaker(
        [training("InProgress")] * 3 + [training("Completed")], {1: start, 2: more, 3: last}
    )
    code, out, err = _run(logs, sm)
    assert code == 0
    assert out.splitlines() == ["one", "two", "three", "four", "five", "six", "seven"]
    assert err == "sagebrush: training job job Completed\n"


def test_waits_for_streams_that_appear_late_and_labels_several() -> None:
    logs = FakeLogs()

    def two_hosts() -> None:
        for n in (1, 2, 3):
            logs.streams[f"job/algo-{n}-1"] = [f"host {n}"]

    sm = FakeSageMaker([training("InProgress")] * 4 + [training("Completed")], {3: two_hosts})
    code, out, _ = _run(logs, sm)
    assert code == 0
    # Three streams: more than one page of DescribeLogStreams (page size 2).
    assert out.splitlines() == ["[algo-1-1] host 1", "[algo-2-1] host 2", "[algo-3-1] host 3"]


def test_failed_job_exits_1_with_its_reason() -> None:
    logs = FakeLogs()
    logs.streams["job/algo-1-1"] = ["boom"]
    sm = FakeSageMaker([training("Failed", FailureReason="AlgorithmError: bad")])
    code, out, err = _run(logs, sm)
    assert (code, out) == (1, "boom\n")
    assert err == "sagebrush: training job job Failed: AlgorithmError: bad\n"


def test_stopped_job_exits_1_saying_why() -> None:
    transitions = [
        {"Status": "Training", "StatusMessage": "Training"},
        {"Status": "MaxRuntimeExceeded", "StatusMessage": "Training job stopped: it exceeded"},
    ]
    sm = FakeSageMaker([training("Stopped", SecondaryStatusTransitions=transitions)])
    code, _, err = _run(FakeLogs(), sm)
    assert code == 1
    assert err == "sagebrush: training job job Stopped: Training job stopped: it exceeded\n"


def test_missing_job_exits_2() -> None:
    sm = FakeSageMaker([_error("ValidationException", "Requested resource not found.")])
    code, out, err = _run(FakeLogs(), sm)
    assert (code, out) == (2, "")
    assert err == "sagebrush: no training job job: Requested resource not found.\n"


def test_transform_job_kind_comes_from_the_group() -> None:
    sm = FakeSageMaker([{"TransformJobStatus": "Completed"}])
    code, _, err = _run(FakeLogs(), sm, group="/aws/sagemaker/TransformJobs")
    assert code == 0
    assert err == "sagebrush: transform job job Completed\n"


def test_unimplemented_kind_is_followed_until_interrupted() -> None:
    logs = FakeLogs()
    logs.streams["job/algo-1-1"] = ["processing"]
    sm = FakeSageMaker([_error("NotImplemented", "DescribeProcessingJob is not implemented")])
    with pytest.raises(AssertionError, match="never ended"):
        _run(logs, sm, group="/aws/sagemaker/ProcessingJobs", max_sleeps=3)
    assert sm.calls == 1  # asked once, then only the logs


def test_unknown_group_is_followed_until_interrupted() -> None:
    assert followed("/my/app", "job") == (None, "job")
    sm = FakeSageMaker([training("Completed")])
    with pytest.raises(AssertionError, match="never ended"):
        _run(FakeLogs(), sm, group="/my/app", max_sleeps=3)
    assert sm.calls == 0


def test_endpoint_is_followed_until_deleted() -> None:
    assert where("/aws/sagemaker/Endpoints", "ep") == ("/aws/sagemaker/Endpoints/ep", "")
    assert followed("/aws/sagemaker/Endpoints/ep", "AllTraffic") == (
        KINDS["/aws/sagemaker/Endpoints"],
        "ep",
    )
    logs = FakeLogs()
    logs.streams["AllTraffic/i-1"] = ["ready"]
    gone = _error("ValidationException", 'Could not find endpoint "ep".')
    sm = FakeSageMaker([{"EndpointStatus": "InService"}] * 3 + [gone])
    code, out, err = _run(logs, sm, group="/aws/sagemaker/Endpoints", name="ep")
    assert (code, out) == (0, "ready\n")
    assert err == "sagebrush: endpoint ep deleted\n"


def test_failed_endpoint_exits_1() -> None:
    sm = FakeSageMaker([{"EndpointStatus": "Failed", "FailureReason": "ping failed"}])
    code, _, err = _run(FakeLogs(), sm, group="/aws/sagemaker/Endpoints", name="ep")
    assert code == 1
    assert err == "sagebrush: endpoint ep Failed: ping failed\n"
