"""The server log's lines for finished requests: failures always, everything with the
access log on."""

from __future__ import annotations

import logging

import pytest

from sagebrush.aws.errors import AwsError, not_implemented
from sagebrush.gateway.requestlog import RequestRecorder


def _finish(recorder: RequestRecorder, status: int, error: AwsError | None, **kw: object) -> None:
    fields: dict[str, object] = {
        "method": "POST",
        "path": "/",
        "service": "sagemaker",
        "operation": "DescribeTrainingJob",
        "status": status,
        "error": error,
        "request_id": "rid-1",
        "seconds": 0.0123,
        "sent": 74,
        "client": "127.0.0.1",
    }
    fields.update(kw)
    recorder.finished(**fields)  # type: ignore[arg-type]


def test_a_client_error_is_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = RequestRecorder()
    error = AwsError("ValidationException", "Requested resource\nnot found.")
    _finish(recorder, 400, error)
    [record] = caplog.records
    assert record.levelno == logging.INFO and record.name == "sagebrush.requests"
    assert record.getMessage() == (
        "sagemaker DescribeTrainingJob failed: 400 ValidationException: "
        "Requested resource not found. (request rid-1, 12.3 ms)"
    )


def test_server_errors_and_not_implemented_are_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = RequestRecorder()
    _finish(recorder, 501, not_implemented("sagemaker", "CreateProcessingJob"))
    _finish(recorder, 500, AwsError("InternalFailure", "boom", 500), service=None, operation=None)
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]
    assert (
        "501 NotImplemented: Sagebrush does not implement the operation"
        in caplog.records[0].getMessage()
    )
    # A request that could not be routed is named by its method and path.
    assert caplog.records[1].getMessage().startswith("POST / failed: 500 InternalFailure: boom")


def test_successes_are_silent_without_the_access_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = RequestRecorder()
    _finish(recorder, 200, None)
    _finish(recorder, 304, None, service="s3", operation="GetObject")
    assert caplog.records == []
    counted = {s.name: s.value for f in recorder.metrics.collect() for s in f.samples}
    assert counted["sagebrush_request_duration_seconds_count"] == 1  # per (service, op)


def test_the_access_log_has_every_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = RequestRecorder(access_log=True)
    _finish(
        recorder,
        200,
        None,
        method="GET",
        path="/data/key",
        service="s3",
        operation="GetObject",
        sent=1024,
    )
    _finish(recorder, 404, AwsError("NoSuchKey", "The specified key does not exist.", 404))
    lines = [(r.name, r.getMessage()) for r in caplog.records]
    assert lines[0] == (
        "sagebrush.access",
        '127.0.0.1 "GET /data/key" 200 1024B 12.3ms s3 GetObject rid-1',
    )
    assert [name for name, _ in lines[1:]] == ["sagebrush.requests", "sagebrush.access"]
