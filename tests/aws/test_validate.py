from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.aws.test_protocol_json import TRAINING_JOB
from tests.aws.wire_roundtrip import operation

from sagebrush.aws.errors import AwsError
from sagebrush.aws.streams import PayloadStream
from sagebrush.aws.validate import validate_input

CREATE = operation("sagemaker", "CreateTrainingJob")


def _message(params: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(AwsError) as caught:
        validate_input(CREATE, params, **kwargs)
    assert caught.value.status == 400
    return caught.value.message


def _job(**changes: Any) -> dict[str, Any]:
    job = copy.deepcopy(TRAINING_JOB)
    job.update(changes)
    return {k: v for k, v in job.items() if v is not None}


def test_valid_input_passes() -> None:
    validate_input(CREATE, TRAINING_JOB)


def test_pattern_is_matched_against_the_whole_value() -> None:
    assert _message(_job(TrainingJobName="abc!")) == (
        "1 validation error detected: Value 'abc!' at 'trainingJobName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )


def test_missing_required_member() -> None:
    assert _message(_job(RoleArn=None)) == (
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_nested_required_member() -> None:
    job = _job()
    del job["OutputDataConfig"]["S3OutputPath"]
    assert "Value null at 'outputDataConfig.s3OutputPath'" in _message(job)


def test_several_problems_are_joined() -> None:
    message = _message(_job(TrainingJobName="x" * 64, RoleArn=None))
    assert message.startswith("3 validation errors detected: ")
    problems = message.removeprefix("3 validation errors detected: ").split("; ")
    assert problems[0].endswith("Member must have length less than or equal to 63")
    assert problems[1].endswith(
        "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )
    assert (
        problems[2]
        == "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    )


def test_enum_and_list_item_paths() -> None:
    job = _job(Tags=[{"Key": "ok", "Value": "v"}, {"Key": "", "Value": "v"}])
    job["ResourceConfig"]["InstanceType"] = "ml.fake.large"
    message = _message(job)
    assert (
        "Value 'ml.fake.large' at 'resourceConfig.instanceType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [ml.m4.xlarge, " in message
    )
    assert (
        "Value '' at 'tags.2.member.key' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1" in message
    )


def test_numeric_range() -> None:
    job = _job(StoppingCondition={"MaxRuntimeInSeconds": 0})
    assert _message(job).endswith(
        "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )


def test_list_length() -> None:
    job = _job(Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert (
        "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
        in _message(job)
    )


def test_java_unicode_properties_are_understood() -> None:
    validate_input(CREATE, _job(Tags=[{"Key": "équipe données", "Value": "ü"}]))
    message = _message(_job(Tags=[{"Key": "bad#key", "Value": "v"}]))
    assert (
        "Value 'bad#key' at 'tags.1.member.key' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern: ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)" in message
    )


def test_custom_error_code() -> None:
    with pytest.raises(AwsError) as caught:
        validate_input(operation("iam", "GetRole"), {}, error_code="ValidationError")
    assert caught.value.code == "ValidationError"
    assert "Value null at 'roleName'" in caught.value.message


def test_required_only_skips_constraints() -> None:
    put = operation("s3", "PutObject")
    validate_input(put, {"Bucket": "b", "Key": "", "ACL": "nonsense"}, required_only=True)
    with pytest.raises(AwsError):
        validate_input(put, {"Bucket": "b"}, required_only=True)


def test_streaming_payload_is_not_validated() -> None:
    async def nothing() -> Any:
        yield b""

    op = operation("s3", "PutObject")
    validate_input(op, {"Bucket": "b", "Key": "k", "Body": PayloadStream(nothing(), 0)})


def test_blob_length() -> None:
    op = operation("sagemaker-runtime", "InvokeEndpoint")
    with pytest.raises(AwsError) as caught:
        validate_input(op, {"EndpointName": "ep", "Body": b"x" * 6291457})
    assert caught.value.message.endswith(
        "at 'body' failed to satisfy constraint: "
        "Member must have length less than or equal to 6291456"
    )


def test_header_member_pattern() -> None:
    op = operation("sagemaker-runtime", "InvokeEndpointAsync")
    validate_input(op, {"EndpointName": "ep", "InputLocation": "s3://b/k"})
    with pytest.raises(AwsError) as caught:
        validate_input(op, {"EndpointName": "ep", "InputLocation": "ftp://b/k"})
    assert (
        "at 'inputLocation' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern" in caught.value.message
    )
