"""The server log of a real server: failed requests and job and endpoint status changes at
the default level, successful requests only with ``--access-log``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import botocore.exceptions
import pytest

from sagebrush.testing import Server, ServerOutput, start_server
from tests.e2e._endpoints import RawInvoker
from tests.e2e._tiny_training import job_request, register_tiny_image, unique, wait_done


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("log-home")
    register_tiny_image(home)
    server = start_server(home, keep_output=True)
    yield server
    server.stop()


def _output(server: Server) -> ServerOutput:
    assert server.output is not None
    return server.output


def _error(call: object, **request: object) -> dict[str, object]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**request)  # type: ignore[operator]
    response: dict[str, object] = caught.value.response  # type: ignore[assignment]
    return response


def test_a_failed_request_is_one_line_and_a_good_one_none(srv: Server) -> None:
    sm = srv.client("sagemaker")
    sm.list_training_jobs()
    response = _error(sm.describe_training_job, TrainingJobName="nope")
    request_id = response["ResponseMetadata"]["RequestId"]  # type: ignore[index]
    lines = _output(srv).wait_for(lambda line: request_id in line)
    assert len(lines) == 1, lines
    assert re.search(
        r" INFO sagebrush\.requests: sagemaker DescribeTrainingJob failed: 400 "
        r"ValidationException: Requested resource not found\. "
        rf"\(request {request_id}, \d+\.\d ms\)$",
        lines[0],
    ), lines[0]
    assert not any("ListTrainingJobs" in line for line in _output(srv).lines())


def test_not_implemented_is_a_warning(srv: Server) -> None:
    sm = srv.client("sagemaker")
    # (DescribeProcessingJob answers ResourceNotFound: no processing job can exist yet.)
    response = _error(sm.stop_processing_job, ProcessingJobName="p")
    assert response["Error"]["Code"] == "NotImplemented"  # type: ignore[index]
    request_id = response["ResponseMetadata"]["RequestId"]  # type: ignore[index]
    [line] = _output(srv).wait_for(lambda line: request_id in line)
    assert " WARNING sagebrush.requests: sagemaker StopProcessingJob failed: 501 " in line
    assert "NotImplemented: Sagebrush does not implement the operation" in line


def test_job_status_changes_and_the_failure_reason(srv: Server) -> None:
    s3, sm = srv.client("s3"), srv.client("sagemaker")
    s3.create_bucket(Bucket="out")
    good, bad = unique("good"), unique("bad")
    sm.create_training_job(**job_request(good))
    sm.create_training_job(**job_request(bad, mode="fail"))
    assert wait_done(sm, good)["TrainingJobStatus"] == "Completed"
    assert wait_done(sm, bad)["TrainingJobStatus"] == "Failed"
    output = _output(srv)
    output.wait_for(lambda line: f"training job {bad}: " in line and "-> Failed" in line)

    def changes(name: str) -> list[str]:
        marker = f"sagebrush.jobs.lifecycle: training job {name}: "
        return [line.split(marker, 1)[1] for line in output.lines() if marker in line]

    assert changes(good) == [
        "created InProgress/Starting",
        "InProgress/Starting -> InProgress/Downloading (Downloading input data)",
        "InProgress/Downloading -> InProgress/Training "
        "(Training image download completed. Training in progress.)",
        "InProgress/Training -> InProgress/Uploading (Uploading generated training model)",
        "InProgress/Uploading -> Completed (Training job completed)",
    ]
    failed = changes(bad)[-1]
    assert failed == (
        "InProgress/Training -> Failed (Training job failed. Reason: ClientError: asked to fail)"
    )
    [line] = [x for x in output.lines() if x.endswith(failed)]
    assert " WARNING " in line


def test_the_access_log_has_every_request(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_server(tmp_path_factory.mktemp("access-home"), "--access-log", keep_output=True)
    try:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="bkt")
        s3.put_object(Bucket="bkt", Key="k.txt", Body=b"12345")
        assert s3.get_object(Bucket="bkt", Key="k.txt")["Body"].read() == b"12345"
        _error(s3.get_object, Bucket="bkt", Key="missing")
        raw = RawInvoker(server.url)  # InvokeEndpoint's fast path
        try:
            assert raw.invoke("no-such-endpoint", b"1").status == 400
        finally:
            raw.close()
        output = _output(server)
        output.wait_for(lambda line: "InvokeEndpoint" in line and "sagebrush.access" in line)
        access = [
            line.split("sagebrush.access: ", 1)[1]
            for line in output.lines()
            if "sagebrush.access: " in line
        ]
    finally:
        server.stop()
    pattern = r'127\.0\.0\.1 "{} {}" {} {}B \d+\.\dms {} [0-9a-f-]{{36}}$'
    expected = [
        ("PUT", "/bkt", 200, 0, "s3 CreateBucket"),
        ("PUT", "/bkt/k.txt", 200, 0, "s3 PutObject"),
        ("GET", "/bkt/k.txt", 200, 5, "s3 GetObject"),
        ("GET", "/bkt/missing", 404, r"\d+", "s3 GetObject"),
        (
            "POST",
            "/endpoints/no-such-endpoint/invocations",
            400,
            r"\d+",
            "sagemaker-runtime InvokeEndpoint",
        ),
    ]
    assert len(access) == len(expected), access
    for line, (method, path, status, size, what) in zip(access, expected, strict=True):
        assert re.match(pattern.format(method, re.escape(path), status, size, what), line), line
