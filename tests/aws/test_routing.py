"""The router finds every operation of the served models from what botocore sends."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from botocore.awsrequest import AWSRequest, prepare_request_dict
from botocore.model import Shape
from botocore.serialize import create_serializer
from tests.aws.wire_roundtrip import ENDPOINT, from_prepared, to_request

from sagebrush.aws.errors import AwsError
from sagebrush.aws.models import ServiceCatalog
from sagebrush.aws.routing import Router

CATALOG = ServiceCatalog()
ROUTER = Router(CATALOG)


def _dummy(shape: Shape, depth: int = 0) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if depth > 5:
            return {}
        names = list(shape.required_members)
        if not names and getattr(shape, "is_tagged_union", False):
            names = list(shape.members)[:1]
        return {name: _dummy(shape.members[name], depth + 1) for name in names}
    if kind == "list":
        return [_dummy(shape.member, depth + 1)]
    if kind == "map":
        return {"k": _dummy(shape.value, depth + 1)}
    if kind in ("integer", "long"):
        return 1
    if kind in ("float", "double"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    if kind == "blob":
        return b"blob"
    if shape.enum:
        return shape.enum[0]
    return "name-1"


def _resolve(service: str, op_name: str, scope: str, drop_x_id: bool = False) -> str:
    op = CATALOG.operation(service, op_name)
    params = _dummy(op.input_shape) if op.input_shape is not None else {}
    protocol = "json" if service == "cloudwatch" else op.metadata["protocol"]
    serializer = create_serializer(protocol, include_validation=False)
    request_dict = serializer.serialize_to_request(params, op)
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    aws_request = AWSRequest(
        method=request_dict["method"],
        url=request_dict["url"],
        data=request_dict["body"],
        headers=request_dict["headers"],
    )
    request = from_prepared(aws_request.prepare())
    if drop_x_id:
        request.query = [(k, v) for k, v in request.query if k != "x-id"]
    return asyncio.run(ROUTER.resolve(request, scope)).operation.name


@pytest.mark.parametrize(
    ("service", "scope"),
    [
        ("s3", "s3"),
        ("sagemaker", "sagemaker"),
        ("sagemaker-runtime", "sagemaker"),
        ("sagemaker-metrics", "sagemaker"),
        ("logs", "logs"),
        ("cloudwatch", "monitoring"),
        ("sts", "sts"),
        ("iam", "iam"),
    ],
)
def test_every_operation_routes_to_itself(service: str, scope: str) -> None:
    model = CATALOG.model(service)
    wrong = {op: got for op in model.operation_names if (got := _resolve(service, op, scope)) != op}
    assert wrong == (S3_AMBIGUOUS if service == "s3" else {})


# Requests S3 itself can't tell apart on the wire: the current operation wins over the
# deprecated one, and directory buckets live on another (s3express) endpoint.
S3_AMBIGUOUS = {
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
    "GetBucketNotification": "GetBucketNotificationConfiguration",
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
    "PutBucketNotification": "PutBucketNotificationConfiguration",
    "ListDirectoryBuckets": "ListBuckets",
}


def test_s3_routes_without_x_id() -> None:
    """Clients other than botocore may not send ``x-id``: the URI, query and headers decide."""
    model = CATALOG.model("s3")
    wrong = {
        op: got
        for op in model.operation_names
        if (got := _resolve("s3", op, "s3", drop_x_id=True)) != op
    }
    assert wrong == S3_AMBIGUOUS


def test_unsigned_s3_requests_route_to_s3() -> None:
    request, _ = to_request("s3", "GetObject", {"Bucket": "bkt", "Key": "a/b"})
    assert asyncio.run(ROUTER.resolve(request, None)).operation.name == "GetObject"


def test_unknown_target_and_action() -> None:
    request, _ = to_request("sagemaker", "ListModels", {})
    request.headers = type(request.headers)(
        [
            (k, "SageMaker.Fly" if k.lower() == "x-amz-target" else v)
            for k, v in request.headers.raw_items()
        ]
    )
    with pytest.raises(AwsError) as err:
        asyncio.run(ROUTER.resolve(request, "sagemaker"))
    assert err.value.code == "UnknownOperationException"
    sts, _ = to_request("sts", "GetCallerIdentity", {})
    sts.body = type(sts.body)(b"Action=Fly&Version=2011-06-15")
    with pytest.raises(AwsError) as err:
        asyncio.run(ROUTER.resolve(sts, "sts"))
    assert err.value.code == "InvalidAction"


def test_unsigned_runtime_and_metrics_requests_route_by_path() -> None:
    request, _ = to_request(
        "sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "ep", "Body": b"1,2"}
    )
    route = asyncio.run(ROUTER.resolve(request, None))
    assert (route.service, route.operation.name) == ("sagemaker-runtime", "InvokeEndpoint")
    assert route.uri_params == {"EndpointName": "ep"}
    request, _ = to_request(
        "sagemaker-metrics",
        "BatchPutMetrics",
        {
            "TrialComponentName": "t",
            "MetricData": [{"MetricName": "m", "Timestamp": 1, "Value": 1.0}],
        },
    )
    assert asyncio.run(ROUTER.resolve(request, None)).service == "sagemaker-metrics"
    # An S3 upload to a bucket that happens to be called "endpoints" stays S3's.
    request, _ = to_request(
        "s3", "CreateMultipartUpload", {"Bucket": "endpoints", "Key": "x/invocations"}
    )
    assert asyncio.run(ROUTER.resolve(request, None)).operation.name == "CreateMultipartUpload"
