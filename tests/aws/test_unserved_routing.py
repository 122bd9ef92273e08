"""Services Sagebrush does not serve: found from their signing name or target prefix, routed
against their own models (never loaded at start-up), refused in their own protocol."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest
from botocore.awsrequest import AWSRequest, prepare_request_dict
from botocore.loaders import Loader
from botocore.serialize import create_serializer
from botocore.session import get_session
from tests.aws.test_routing import _dummy
from tests.aws.wire_roundtrip import ENDPOINT, from_prepared

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Body, Headers, HttpRequest
from sagebrush.aws.models import ServiceCatalog, _metadata_in
from sagebrush.aws.routing import Route, Router

CATALOG = ServiceCatalog()
ROUTER = Router(CATALOG)


def test_the_catalog_indexes_other_services_only_when_asked() -> None:
    catalog = ServiceCatalog()
    assert catalog.signing_names["sagemaker"][0] == "sagemaker"
    assert "_index" not in catalog.__dict__  # start-up reads no foreign model
    assert catalog.signed_as("lambda")[0] == "lambda"
    assert catalog.signed_as("sagemaker")[:3] == (
        "sagemaker",
        "sagemaker-runtime",
        "sagemaker-metrics",
    )
    assert "sagemaker-featurestore-runtime" in catalog.signed_as("sagemaker")
    assert catalog.signed_as("execute-api") == ("apigatewaymanagementapi", "connectparticipant")
    assert catalog.targeted("DynamoDB_20120810") == ("dynamodb",)
    assert catalog.signed_as("no-such-service") == ()


@pytest.mark.parametrize(
    "service", ["lambda", "apigateway", "sqs", "sns", "ec2", "cloudwatch", "s3control", "logs"]
)
def test_service_info_agrees_with_botocore(service: str) -> None:
    model = get_session().get_service_model(service)
    info = CATALOG.info(service)
    assert info.signing_name == model.signing_name
    assert info.protocol == model.resolved_protocol
    assert info.target_prefix == model.metadata.get("targetPrefix")


def test_a_model_whose_metadata_is_not_at_its_head_is_loaded_whole(tmp_path: Path) -> None:
    data = {
        "version": "2.0",
        "documentation": "x" * 10_000,
        "metadata": {
            "apiVersion": "2020-01-01",
            "endpointPrefix": "oddity",
            "protocol": "json",
            "jsonVersion": "1.1",
            "targetPrefix": "Oddity_2020",
            "serviceId": "Oddity",
            "signatureVersion": "v4",
        },
        "operations": {},
        "shapes": {},
    }
    folder = tmp_path / "oddity" / "2020-01-01"
    folder.mkdir(parents=True)
    with gzip.open(folder / "service-2.json.gz", "wt") as file:
        json.dump(data, file)
    catalog = ServiceCatalog()
    catalog._loader = Loader(extra_search_paths=[str(tmp_path)])
    info = catalog.info("oddity")
    assert (info.signing_name, info.protocol, info.target_prefix) == (
        "oddity",
        "json",
        "Oddity_2020",
    )
    assert _metadata_in('{"metadata": {"protocol": "js') is None


def _route(service: str, operation: str) -> Route:
    """Route the request botocore builds for ``operation`` with empty-ish arguments."""
    op = CATALOG.operation(service, operation)
    params = _dummy(op.input_shape) if op.input_shape is not None else {}
    serializer = create_serializer(CATALOG.info(service).protocol, include_validation=False)
    request_dict = serializer.serialize_to_request(params, op)
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    prepared = AWSRequest(
        method=request_dict["method"],
        url=request_dict["url"],
        data=request_dict["body"],
        headers=request_dict["headers"],
    ).prepare()
    scope = CATALOG.info(service).signing_name
    return asyncio.run(ROUTER.resolve(from_prepared(prepared), scope))


@pytest.mark.parametrize(
    "service",
    [
        "lambda",
        "apigateway",
        "dynamodb",
        "sns",
        "sqs",
        "eventbridgev2",
        "apigatewaymanagementapi",
        # Signed as "sagemaker", as the served SageMaker APIs are.
        "sagemaker-featurestore-runtime",
        "sagemaker-a2i-runtime",
        "sagemaker-edge",
    ],
)
def test_every_operation_of_an_unserved_service_routes_to_itself(service: str) -> None:
    wrong = {}
    for name in CATALOG.model(service).operation_names:
        route = _route(service, name)
        if (route.service, route.operation.name, route.served) != (service, name, False):
            wrong[name] = (route.service, route.operation.name, route.served)
    assert wrong == {}
    assert _route(service, CATALOG.model(service).operation_names[0]).protocol == (
        CATALOG.info(service).protocol
    )


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> HttpRequest:
    return HttpRequest(method, path, [], Headers(headers.items()), Body(body))


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("request_", "scope", "wire"),
    [
        (
            _request("POST", "/", {"X-Amz-Target": "SageMaker.Fly"}),
            "sagemaker",
            ("sagemaker", "json"),
        ),
        (_request("POST", "/", {"X-Amz-Target": "Logs_20140328.Fly"}), None, ("logs", "json")),
        (
            _request("POST", "/", {"X-Amz-Target": "GraniteServiceVersion20100801.Fly"}),
            "monitoring",
            ("cloudwatch", "json"),
        ),
        (_request("POST", "/", {"X-Amz-Target": "Nope.Fly"}), "dynamodb", ("dynamodb", "json")),
        (_request("POST", "/", FORM), "monitoring", ("cloudwatch", "query")),
        (_request("POST", "/", FORM), "iam", ("iam", "query")),
        (_request("POST", "/", FORM), "ec2", ("ec2", "ec2")),
        (_request("POST", "/", FORM), None, ("sts", "query")),
        (_request("DELETE", "/nowhere", {}), "sagemaker", ("sagemaker-runtime", "rest-json")),
        (_request("DELETE", "/nowhere", {}), "lambda", ("lambda", "rest-json")),
        (_request("PATCH", "/bucket/key", {}), "s3", ("s3", "rest-xml")),
        (
            _request("PATCH", "/endpoints/x/invocations", {}),
            None,
            ("sagemaker-runtime", "rest-json"),
        ),
        (
            _request("POST", "/service/Nope/operation/Fly", {"smithy-protocol": "rpc-v2-cbor"}),
            "monitoring",
            ("cloudwatch", "smithy-rpc-v2-cbor"),
        ),
    ],
)
def test_an_unroutable_request_is_answered_in_the_protocol_it_speaks(
    request_: HttpRequest, scope: str | None, wire: tuple[str, str]
) -> None:
    assert ROUTER.error_wire(request_, scope) == wire


def test_unknown_operations_of_unserved_services_are_refused_naming_the_service() -> None:
    request = _request("GET", "/no/such/path", {})
    with pytest.raises(AwsError) as err:
        asyncio.run(ROUTER.resolve(request, "lambda"))
    assert (err.value.code, err.value.status) == ("NotImplemented", 501)
    assert err.value.message == "Sagebrush does not serve the AWS service lambda."
    # A served scope keeps its own routing error when nothing unserved matches either.
    with pytest.raises(AwsError) as err:
        asyncio.run(ROUTER.resolve(_request("POST", "/", {"X-Amz-Target": "SageMaker.Fly"}), None))
    assert err.value.code == "UnknownOperationException"
