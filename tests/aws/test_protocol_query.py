from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

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
from sagebrush.aws.http import Body, Headers, HttpRequest

WHEN = datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
ROLE = {
    "Path": "/service-role/",
    "RoleName": "SageMakerRole",
    "RoleId": "AROAEXAMPLE",
    "Arn": "arn:aws:iam::123456789012:role/service-role/SageMakerRole",
    "CreateDate": WHEN,
    "AssumeRolePolicyDocument": '{"Version":"2012-10-17"}',
    "MaxSessionDuration": 3600,
    "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": ""}],
}


def test_iam_get_role() -> None:
    assert parse("iam", "GetRole", {"RoleName": "r"}) == {"RoleName": "r"}


def test_iam_create_role_with_tags() -> None:
    params = {
        "RoleName": "SageMakerRole",
        "Path": "/service-role/",
        "AssumeRolePolicyDocument": '{"Version": "2012-10-17", "Statement": []}',
        "MaxSessionDuration": 7200,
        "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "cost center", "Value": "a&b=c"}],
    }
    assert parse("iam", "CreateRole", params) == params


def test_empty_list_round_trips() -> None:
    params = {"RoleName": "r", "TagKeys": []}
    assert parse("iam", "UntagRole", params) == params


def test_sts_get_caller_identity() -> None:
    assert parse("sts", "GetCallerIdentity", {}) == {}


def test_cloudwatch_put_metric_data_in_query() -> None:
    params = {
        "Namespace": "/aws/sagemaker/TrainingJobs",
        "MetricData": [
            {
                "MetricName": "train:loss",
                "Dimensions": [{"Name": "Host", "Value": "job/algo-1"}],
                "Timestamp": WHEN,
                "Values": [0.5, 0.25],
                "Counts": [1.0, 2.0],
                "Unit": "None",
                "StorageResolution": 1,
            },
            {
                "MetricName": "latency",
                "StatisticValues": {"SampleCount": 2.0, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0},
            },
        ],
    }
    assert parse("cloudwatch", "PutMetricData", params, "query") == params


def test_maps_and_flattened_lists() -> None:
    # SNS and SimpleDB are not served; their models exercise query maps and flattened lists.
    params = {"Name": "t", "Attributes": {"DisplayName": "x", "Policy": "{}"}}
    assert parse("sns", "CreateTopic", params) == params
    params = {
        "DomainName": "d",
        "ItemName": "i",
        "Attributes": [{"Name": "a", "Value": "1", "Replace": True}, {"Name": "b", "Value": "2"}],
    }
    assert parse("sdb", "PutAttributes", params) == params


def test_get_request_reads_the_query_string() -> None:
    request = HttpRequest(
        "GET",
        "/",
        [("Action", "GetRole"), ("Version", "2010-05-08"), ("RoleName", "r")],
        Headers(),
        Body(b""),
    )
    parsed = asyncio.run(protocol("iam").parse_request(operation("iam", "GetRole"), request, {}))
    assert parsed == {"RoleName": "r"}


def test_wrong_type_is_a_validation_error() -> None:
    body = b"Action=CreateRole&Version=2010-05-08&RoleName=r&MaxSessionDuration=long"
    request = HttpRequest("POST", "/", [], Headers(), Body(body))
    with pytest.raises(AwsError) as caught:
        asyncio.run(protocol("iam").parse_request(operation("iam", "CreateRole"), request, {}))
    assert caught.value.code == "ValidationError"
    assert "MaxSessionDuration" in caught.value.message


def test_get_role_response() -> None:
    response, parsed = respond("iam", "GetRole", {"Role": ROLE})
    assert without_metadata(parsed) == {"Role": ROLE}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1234"
    root = ET.fromstring(response.body)  # type: ignore[arg-type]
    assert root.tag == "{https://iam.amazonaws.com/doc/2010-05-08/}GetRoleResponse"
    assert ("Content-Type", "text/xml") in response.headers


def test_get_caller_identity_response() -> None:
    result = {"UserId": "AIDA", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root"}
    _, parsed = respond("sts", "GetCallerIdentity", result)
    assert without_metadata(parsed) == result


def test_response_maps_and_flattened_lists() -> None:
    _, parsed = respond("sns", "GetTopicAttributes", {"Attributes": {"A": "1", "B": "2"}})
    assert parsed["Attributes"] == {"A": "1", "B": "2"}
    attributes = [{"Name": "a", "Value": "1"}, {"Name": "b", "Value": "2"}]
    _, parsed = respond("sdb", "GetAttributes", {"Attributes": attributes})
    assert parsed["Attributes"] == attributes


def test_cloudwatch_get_metric_data_response() -> None:
    result = {
        "MetricDataResults": [
            {
                "Id": "m1",
                "Label": "loss",
                "Timestamps": [WHEN, datetime(2024, 2, 3, 4, 6, tzinfo=UTC)],
                "Values": [0.5, 0.4],
                "StatusCode": "Complete",
            }
        ],
        "NextToken": "n",
    }
    _, parsed = respond("cloudwatch", "GetMetricData", result, "query")
    assert without_metadata(parsed) == result


def test_operation_without_output_still_has_metadata() -> None:
    response, parsed = respond("iam", "DeleteRole", {})
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1234"
    assert b"<DeleteRoleResponse" in response.body  # type: ignore[operator]


def test_error_response() -> None:
    error = AwsError("NoSuchEntity", "The role with name r cannot be found.", 404)
    response = protocol("iam").serialize_error(error, operation("iam", "GetRole"), "rid")
    parsed = read_response("iam", "GetRole", response)
    assert parsed["Error"]["Code"] == "NoSuchEntity"
    assert parsed["Error"]["Message"] == "The role with name r cannot be found."
    assert parsed["Error"]["Type"] == "Sender"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_boto3_iam_and_sts_end_to_end() -> None:
    def provider(op: str, params: dict[str, Any]) -> dict[str, Any]:
        if op == "CreateRole":
            return {"Role": {**ROLE, "RoleName": params["RoleName"], "Tags": params["Tags"]}}
        raise AwsError("NoSuchEntity", f"Role {params['RoleName']} not found", 404)

    iam = stubbed_client("iam", provider)
    created = iam.create_role(
        RoleName="x", AssumeRolePolicyDocument="{}", Tags=[{"Key": "k", "Value": "v"}]
    )
    assert created["Role"]["RoleName"] == "x"
    assert created["Role"]["CreateDate"] == WHEN
    assert created["Role"]["Tags"] == [{"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as caught:
        iam.get_role(RoleName="gone")
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
    assert type(caught.value).__name__ == "NoSuchEntityException"

    sts = stubbed_client("sts", lambda op, params: {"Account": "123456789012"})
    assert sts.get_caller_identity()["Account"] == "123456789012"
