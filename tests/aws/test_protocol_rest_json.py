from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
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
from sagebrush.aws.http import Body, Headers, HttpRequest


def test_invoke_endpoint_blob_payload_and_headers() -> None:
    params = {
        "EndpointName": "my-endpoint",
        "Body": b'{"instances": [[1, 2, 3]]}',
        "ContentType": "application/json",
        "Accept": "application/json",
        "CustomAttributes": "trace=1",
        "TargetVariant": "variant-a",
        "InferenceId": "abc",
    }
    assert parse("sagemaker-runtime", "InvokeEndpoint", params) == params


def test_invoke_endpoint_body_is_read_from_a_streamed_request() -> None:
    params = {"EndpointName": "ep", "Body": b"x" * 23, "ContentType": "text/csv"}
    assert parse("sagemaker-runtime", "InvokeEndpoint", params, chunked=True) == params


def test_invoke_endpoint_async_header_integers() -> None:
    params = {
        "EndpointName": "ep",
        "InputLocation": "s3://bucket/input.json",
        "RequestTTLSeconds": 600,
        "InvocationTimeoutSeconds": 60,
    }
    assert parse("sagemaker-runtime", "InvokeEndpointAsync", params) == params


def test_batch_put_metrics_body_members() -> None:
    params = {
        "TrialComponentName": "job-aws-training-job",
        "MetricData": [
            {
                "MetricName": "train:loss",
                "Timestamp": datetime(2024, 3, 4, 5, 6, 7, 500000, tzinfo=UTC),
                "Step": 3,
                "Value": 0.25,
            }
        ],
    }
    assert parse("sagemaker-metrics", "BatchPutMetrics", params) == params


def test_bad_header_value_is_a_serialization_exception() -> None:
    op = operation("sagemaker-runtime", "InvokeEndpointAsync")
    request = HttpRequest(
        "POST",
        "/endpoints/ep/async-invocations",
        [],
        Headers([("X-Amzn-SageMaker-RequestTTLSeconds", "soon")]),
        Body(b""),
    )
    with pytest.raises(AwsError) as caught:
        asyncio.run(
            protocol("sagemaker-runtime").parse_request(op, request, {"EndpointName": "ep"})
        )
    assert caught.value.code == "SerializationException"
    assert "X-Amzn-SageMaker-RequestTTLSeconds" in caught.value.message


def test_malformed_json_body() -> None:
    op = operation("sagemaker-metrics", "BatchPutMetrics")
    request = HttpRequest("PUT", "/BatchPutMetrics", [], Headers(), Body(b"{oops"))
    with pytest.raises(AwsError) as caught:
        asyncio.run(protocol("sagemaker-metrics").parse_request(op, request, {}))
    assert caught.value.code == "SerializationException"


def test_invoke_endpoint_response() -> None:
    result = {
        "Body": b'{"predictions": [0.5]}',
        "ContentType": "application/json",
        "InvokedProductionVariant": "variant-a",
        "CustomAttributes": "x=1",
    }
    response, parsed = respond("sagemaker-runtime", "InvokeEndpoint", result)
    assert response.body == result["Body"]
    body = parsed.pop("Body")
    assert body.read() == result["Body"]
    assert without_metadata(parsed) == {k: v for k, v in result.items() if k != "Body"}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1234"


def test_streamed_payload_is_passed_through() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    stream = chunks()
    response, parsed = respond("sagemaker-runtime", "InvokeEndpoint", {"Body": stream})
    assert response.body is stream
    assert parsed["Body"].read() == b"ab"


def test_async_response_uses_model_status_and_body_member() -> None:
    result = {"InferenceId": "id-1", "OutputLocation": "s3://b/out"}
    response, parsed = respond("sagemaker-runtime", "InvokeEndpointAsync", result)
    assert response.status == 202
    assert json.loads(response.body) == {"InferenceId": "id-1"}  # type: ignore[arg-type]
    assert without_metadata(parsed) == result


def test_batch_put_metrics_response() -> None:
    result = {"Errors": [{"Code": "METRIC_LIMIT_EXCEEDED", "MetricIndex": 2}]}
    _, parsed = respond("sagemaker-metrics", "BatchPutMetrics", result)
    assert without_metadata(parsed) == result


def test_error_with_modeled_fields() -> None:
    proto = protocol("sagemaker-runtime")
    error = AwsError(
        "ModelError",
        "Received server error (500) from primary",
        424,
        fields={"OriginalStatusCode": 500, "LogStreamArn": "arn:aws:logs:x"},
    )
    response = proto.serialize_error(error, operation("sagemaker-runtime", "InvokeEndpoint"), "r")
    parsed = read_response("sagemaker-runtime", "InvokeEndpoint", response)
    assert parsed["Error"]["Code"] == "ModelError"
    assert parsed["Error"]["Message"] == "Received server error (500) from primary"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert json.loads(response.body)["OriginalStatusCode"] == 500  # type: ignore[arg-type]


def test_boto3_runtime_client_end_to_end() -> None:
    def provider(op: str, params: dict[str, Any]) -> dict[str, Any]:
        if params["EndpointName"] == "missing":
            raise AwsError("ValidationError", "Endpoint missing not found.", 400)
        return {"Body": params["Body"][::-1], "ContentType": "text/plain"}

    client = stubbed_client("sagemaker-runtime", provider)
    answer = client.invoke_endpoint(EndpointName="ep", Body=b"abc", ContentType="text/plain")
    assert answer["Body"].read() == b"cba"
    assert answer["ContentType"] == "text/plain"
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(EndpointName="missing", Body=b"abc")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
