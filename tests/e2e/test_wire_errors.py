"""Bad input gets AWS's error codes on the wire: never a 500, never a traceback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagebrush.testing import Server


def _post(server: Server, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(f"{server.url}/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.1"}


def test_malformed_json_is_a_serialization_exception(server: Server) -> None:
    status, body = _post(
        server, b'{"TrainingJobName": ', {**JSON_HEADERS, "X-Amz-Target": "SageMaker.ListModels"}
    )
    assert status == 400
    assert json.loads(body)["__type"].endswith("SerializationException")


def test_wrong_member_type_is_a_serialization_exception(server: Server) -> None:
    status, body = _post(
        server,
        json.dumps({"MaxResults": "ten"}).encode(),
        {**JSON_HEADERS, "X-Amz-Target": "SageMaker.ListModels"},
    )
    assert status == 400
    assert json.loads(body)["__type"].endswith("SerializationException")


def test_unknown_target_is_an_unknown_operation(server: Server) -> None:
    status, body = _post(server, b"{}", {**JSON_HEADERS, "X-Amz-Target": "SageMaker.Fly"})
    assert status == 400
    assert json.loads(body)["__type"].endswith("UnknownOperationException")


def test_missing_required_member_is_a_validation_exception(server: Server) -> None:
    sm = server.client("sagemaker", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as err:
        sm.describe_training_job()  # type: ignore[attr-defined]
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "trainingJobName" in err.value.response["Error"]["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_constraint_violation_names_the_member(server: Server) -> None:
    sm = server.client("sagemaker", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as err:
        sm.describe_training_job(TrainingJobName="bad name!")  # type: ignore[attr-defined]
    error = err.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "failed to satisfy constraint" in error["Message"]


def test_an_operation_not_served_names_itself(server: Server) -> None:
    sm = server.client("sagemaker")
    with pytest.raises(ClientError) as err:
        # (Listing notebook instances answers an empty list: none can be created yet.)
        sm.delete_notebook_instance(NotebookInstanceName="nb")  # type: ignore[attr-defined]
    assert err.value.response["Error"]["Code"] == "NotImplemented"
    assert "DeleteNotebookInstance" in err.value.response["Error"]["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_unknown_query_action_is_invalid_action(server: Server) -> None:
    status, body = _post(
        server,
        b"Action=Fly&Version=2011-06-15",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in body
