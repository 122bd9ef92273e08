from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.aws.wire_roundtrip import (
    operation,
    parse,
    protocol,
    read_response,
    respond,
    stubbed_client,
    without_metadata,
)

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Body, Headers, HttpRequest, OperationResult

TRAINING_JOB: dict[str, Any] = {
    "TrainingJobName": "xgb-2024-01-01",
    "HyperParameters": {"max_depth": "5", "eta": "0.2"},
    "AlgorithmSpecification": {
        "TrainingImage": "123.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "validation:auc", "Regex": "auc:([0-9.]+)"}],
        "EnableSageMakerMetricsTimeSeries": True,
    },
    "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
    "InputDataConfig": [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://bucket/train/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "text/csv",
        }
    ],
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/output/"},
    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    "Tags": [{"Key": "team", "Value": "ml"}],
    "EnableManagedSpotTraining": False,
    "Environment": {"A": "1"},
    "RetryStrategy": {"MaximumRetryAttempts": 3},
}


def _request(body: bytes) -> HttpRequest:
    return HttpRequest("POST", "/", [], Headers(), Body(body))


def _parse_raw(service: str, op: str, body: bytes) -> dict[str, Any]:
    proto = protocol(service)
    return asyncio.run(proto.parse_request(operation(service, op), _request(body), {}))


def test_create_training_job_round_trips() -> None:
    assert parse("sagemaker", "CreateTrainingJob", TRAINING_JOB) == TRAINING_JOB


def test_timestamps_parse_to_aware_utc() -> None:
    after = datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=UTC)
    params = {"CreationTimeAfter": after, "MaxResults": 10, "SortOrder": "Descending"}
    parsed = parse("sagemaker", "ListTrainingJobs", params)
    assert parsed == params
    assert parsed["CreationTimeAfter"].tzinfo is UTC


def test_put_log_events_round_trips() -> None:
    params = {
        "logGroupName": "/aws/sagemaker/TrainingJobs",
        "logStreamName": "job/algo-1",
        "logEvents": [
            {"timestamp": 1700000000000, "message": "epoch 1"},
            {"timestamp": 1700000000001, "message": "ünïcode ✓"},
        ],
    }
    assert parse("logs", "PutLogEvents", params) == params


def test_cloudwatch_put_metric_data_in_json() -> None:
    params = {
        "Namespace": "/aws/sagemaker/Endpoints",
        "MetricData": [
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "EndpointName", "Value": "ep"}],
                "Timestamp": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                "Value": 1.5,
                "Unit": "Count",
                "StorageResolution": 60,
            }
        ],
    }
    assert parse("cloudwatch", "PutMetricData", params, "json") == params


def test_blobs_are_base64_both_ways() -> None:
    # KMS is not served, but its model exercises blob members of the json protocol.
    params = {"KeyId": "alias/k", "Plaintext": b"\x00\x01secret"}
    assert parse("kms", "Encrypt", params) == params
    _, parsed = respond("kms", "Encrypt", {"CiphertextBlob": b"\xff\xfe", "KeyId": "k"})
    assert without_metadata(parsed) == {"CiphertextBlob": b"\xff\xfe", "KeyId": "k"}


def test_empty_body_is_empty_input() -> None:
    assert _parse_raw("sagemaker", "ListTrainingJobs", b"") == {}


def test_unknown_members_are_ignored() -> None:
    body = json.dumps({"TrainingJobName": "j", "FutureMember": {"x": 1}}).encode()
    assert _parse_raw("sagemaker", "DescribeTrainingJob", body) == {"TrainingJobName": "j"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"MaxResults": "ten"}', "Expected an integer at 'MaxResults' but got string"),
        (b'{"MaxResults": true}', "Expected an integer at 'MaxResults' but got boolean"),
        (b'{"CreationTimeAfter": [1]}', "Expected a timestamp"),
        (b'{"NameContains": 5}', "Expected a string at 'NameContains' but got number"),
    ],
)
def test_malformed_input_is_a_serialization_exception(body: bytes, fragment: str) -> None:
    with pytest.raises(AwsError) as caught:
        _parse_raw("sagemaker", "ListTrainingJobs", body)
    assert caught.value.code == "SerializationException"
    assert caught.value.status == 400
    assert fragment in caught.value.message


def test_list_where_structure_expected() -> None:
    body = json.dumps({"TrainingJobName": "j", "ResourceConfig": ["x"]}).encode()
    with pytest.raises(AwsError) as caught:
        _parse_raw("sagemaker", "CreateTrainingJob", body)
    assert "Expected an object at 'ResourceConfig' but got array" in caught.value.message


def test_describe_training_job_response_round_trips() -> None:
    result = {
        "TrainingJobName": "j",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/j",
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "AlgorithmSpecification": TRAINING_JOB["AlgorithmSpecification"],
        "HyperParameters": {"eta": "0.2"},
        "CreationTime": datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
        "TrainingStartTime": datetime(2024, 1, 1, 0, 1, tzinfo=UTC),
        "SecondaryStatusTransitions": [
            {
                "Status": "Starting",
                "StartTime": datetime(2024, 1, 1, tzinfo=UTC),
                "EndTime": datetime(2024, 1, 1, 0, 1, tzinfo=UTC),
                "StatusMessage": "Preparing the instances for training",
            }
        ],
        "FinalMetricDataList": [
            {
                "MetricName": "validation:auc",
                "Value": 0.75,
                "Timestamp": datetime(2024, 1, 1, 0, 2, tzinfo=UTC),
            }
        ],
        "TrainingTimeInSeconds": 60,
        "EnableNetworkIsolation": False,
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/output/j/model.tar.gz"},
        "FailureReason": None,
    }
    response, parsed = respond("sagemaker", "DescribeTrainingJob", result)
    expected = {k: v for k, v in result.items() if v is not None}
    assert without_metadata(parsed) == expected
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1234"
    headers = dict(response.headers)
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert b"FailureReason" not in response.body  # type: ignore[operator]


def test_cloudwatch_json_uses_json_1_0() -> None:
    response, parsed = respond("cloudwatch", "ListMetrics", {"Metrics": []}, "json")
    assert dict(response.headers)["Content-Type"] == "application/x-amz-json-1.0"
    assert parsed["Metrics"] == []


def test_operation_result_overrides_status_and_headers() -> None:
    result = OperationResult({"TrainingJobArn": "arn"}, status=201, headers={"X-Extra": "1"})
    response, parsed = respond("sagemaker", "CreateTrainingJob", result)
    assert response.status == 201
    assert ("X-Extra", "1") in response.headers
    assert parsed["TrainingJobArn"] == "arn"


def test_error_is_read_by_botocore() -> None:
    proto = protocol("sagemaker")
    op = operation("sagemaker", "DescribeTrainingJob")
    error = AwsError("ResourceNotFound", "Requested resource not found.", 400)
    response = proto.serialize_error(error, op, "req-9")
    parsed = read_response("sagemaker", "DescribeTrainingJob", response)
    assert parsed["Error"] == {
        "Code": "ResourceNotFound",
        "Message": "Requested resource not found.",
    }
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert parsed["ResponseMetadata"]["RequestId"] == "req-9"
    assert ("x-amzn-ErrorType", "ResourceNotFound") in response.headers


def test_query_compatible_error_header() -> None:
    proto = protocol("cloudwatch", "json")
    error = AwsError("InvalidParameterValue", "bad", 400)
    response = proto.serialize_error(error, None, "r")
    assert ("x-amzn-query-error", "InvalidParameterValue;Sender") in response.headers
    parsed = read_response("cloudwatch", "PutMetricData", response, "json")
    assert parsed["Error"]["Code"] == "InvalidParameterValue"


def test_boto3_client_end_to_end() -> None:
    def provider(op: str, params: dict[str, Any]) -> dict[str, Any]:
        if op == "DescribeTrainingJob":
            raise AwsError("ValidationException", f"Could not find job {params['TrainingJobName']}")
        name = params["TrainingJobName"]
        return {"TrainingJobArn": f"arn:aws:sagemaker:us-east-1:1:training-job/{name}"}

    client = stubbed_client("sagemaker", provider)
    created = client.create_training_job(**TRAINING_JOB)
    assert created["TrainingJobArn"].endswith("/xgb-2024-01-01")
    assert client.seen[0] == TRAINING_JOB
    with pytest.raises(ClientError) as caught:
        client.describe_training_job(TrainingJobName="nope")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"] == "Could not find job nope"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
