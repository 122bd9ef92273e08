"""A service Sagebrush does not serve is refused in that service's own protocol.

boto3 and the AWS CLI parse the refusal like any AWS error: code ``NotImplemented``, HTTP
501 (which botocore does not retry), and a message naming the service and the operation.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import create_parser

from sagebrush.testing import Server

# (service, its protocol in boto3, operation, call, arguments)
CASES: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("lambda", "rest-json", "ListFunctions", "list_functions", {}),
    ("apigateway", "rest-json", "GetRestApis", "get_rest_apis", {}),
    ("dynamodb", "json", "ListTables", "list_tables", {}),
    ("sns", "query", "ListTopics", "list_topics", {}),
    ("sqs", "json", "ListQueues", "list_queues", {}),
    ("ec2", "ec2", "DescribeInstances", "describe_instances", {}),
    ("kinesis", "json", "ListStreams", "list_streams", {}),
    ("eventbridgev2", "smithy-rpc-v2-cbor", "ListEventBuses", "list_event_buses", {}),
    # Signed as "sagemaker", like the served SageMaker APIs: told apart by its paths.
    (
        "sagemaker-featurestore-runtime",
        "rest-json",
        "GetRecord",
        "get_record",
        {"FeatureGroupName": "g", "RecordIdentifierValueAsString": "r"},
    ),
    # Signed as "execute-api", a name that is no service's own.
    (
        "apigatewaymanagementapi",
        "rest-json",
        "GetConnection",
        "get_connection",
        {"ConnectionId": "c"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_boto3_reads_not_implemented_in_the_services_protocol(
    server: Server, case: tuple[str, str, str, str, dict[str, Any]]
) -> None:
    service, protocol, operation, call, arguments = case
    client = server.client(service)
    assert client.meta.service_model.resolved_protocol == protocol
    started = time.monotonic()
    with pytest.raises(ClientError) as err:
        getattr(client, call)(**arguments)
    response = err.value.response
    assert response["Error"]["Code"] == "NotImplemented"
    assert response["Error"]["Message"] == (
        f"Sagebrush does not serve the AWS service {service} (operation {operation})."
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert time.monotonic() - started < 5


def test_the_aws_cli_prints_the_error_not_xml(server: Server) -> None:
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "aws"), "lambda", "list-functions"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode != 0
    assert (
        "An error occurred (NotImplemented) when calling the ListFunctions operation: "
        "Sagebrush does not serve the AWS service lambda (operation ListFunctions)."
    ) in cli.stderr
    assert "<" not in cli.stderr


def _raw(
    server: Server, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(server.url.split("//")[1], timeout=30)
    conn.request(method, path, body=body, headers=headers)
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}, data


def _signed(service: str) -> dict[str, str]:
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential=sagebrush/20260101/us-east-1/{service}/"
        "aws4_request, SignedHeaders=host, Signature=00"
    }


def _parse(protocol: str, status: int, headers: dict[str, str], body: bytes) -> Any:
    """What botocore's parser for ``protocol`` reads from the response."""
    parsed = create_parser(protocol).parse(
        {"status_code": status, "headers": headers, "body": body}, None
    )
    return parsed["Error"]


def test_an_unknown_operation_of_a_served_json_service_answers_in_json(server: Server) -> None:
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    status, got, body = _raw(
        server, "POST", "/", b"{}", {**headers, "X-Amz-Target": "GraniteServiceVersion20100801.Fly"}
    )
    assert status == 400
    assert got["content-type"] == "application/x-amz-json-1.0"
    assert _parse("json", status, got, body)["Code"] == "UnknownOperationException"


def test_an_unserved_target_prefix_is_refused_in_json_even_unsigned(server: Server) -> None:
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues"}
    status, got, body = _raw(server, "POST", "/", b"{}", headers)
    assert status == 501
    error = _parse("json", status, got, body)
    assert error["Code"] == "NotImplemented"
    assert "sqs (operation ListQueues)" in error["Message"]


def test_cloudwatch_answers_errors_in_the_protocol_it_is_asked_in(server: Server) -> None:
    # boto3 speaks JSON 1.0 to CloudWatch; older clients speak awsQuery, newer may ask CBOR.
    assert server.client("cloudwatch").meta.service_model.resolved_protocol == "json"
    with pytest.raises(ClientError) as err:
        server.client("cloudwatch").describe_alarms()
    assert err.value.response["Error"]["Code"] == "NotImplemented"
    assert "DescribeAlarms" in err.value.response["Error"]["Message"]

    form = {**_signed("monitoring"), "Content-Type": "application/x-www-form-urlencoded"}
    for action, code in (("DescribeAlarms", "NotImplemented"), ("Fly", "InvalidAction")):
        status, got, body = _raw(server, "POST", "/", f"Action={action}".encode(), form)
        assert got["content-type"] == "text/xml"
        assert b"http://monitoring.amazonaws.com/doc/2010-08-01/" in body
        assert _parse("query", status, got, body)["Code"] == code

    cbor = {**_signed("monitoring"), "smithy-protocol": "rpc-v2-cbor"}
    path = "/service/GraniteServiceVersion20100801/operation/ListMetrics"
    status, got, body = _raw(server, "POST", path, b"\xa0", cbor)
    assert (status, got["content-type"]) == (501, "application/cbor")
    error = _parse("smithy-rpc-v2-cbor", status, got, body)
    assert error["Code"] == "NotImplemented"
    assert "cloudwatch over json and query, not smithy-rpc-v2-cbor" in error["Message"]


def test_an_unroutable_request_signed_for_a_served_rest_service_answers_json(
    server: Server,
) -> None:
    status, got, body = _raw(server, "DELETE", "/no/such/api", b"", _signed("sagemaker"))
    assert status == 405
    assert got["content-type"] == "application/json"
    assert _parse("rest-json", status, got, body)["Code"] == "MethodNotAllowed"


def test_a_signing_name_no_service_uses_is_still_an_error(server: Server) -> None:
    status, _, body = _raw(server, "GET", "/", b"", _signed("no-such-service"))
    assert status == 501
    assert b"does not serve the AWS service no-such-service." in body
