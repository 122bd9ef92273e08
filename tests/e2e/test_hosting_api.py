"""Models and endpoint configurations through boto3: round trips, defaults, listings, tags,
and SageMaker's validation errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest

from sagebrush.services.sagemaker._hosting_check import containers_of, execution_mode
from sagebrush.testing import Server, start_server

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
ARN = "arn:aws:sagemaker:us-east-1:000000000000"
ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
XGBOOST = f"{ECR}/sagemaker-xgboost:1.7-1"
SKLEARN = f"{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3"
PYTORCH = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310"
TENSORFLOW = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.13-cpu"
LOCAL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-server:latest"
MODEL_DATA = "s3://models/xgb/model.tar.gz"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("hosting-home")
    for repo, entry in (("my-server", "serve"), ("train-only", "train")):
        image = home / "images" / repo
        image.mkdir(parents=True)
        (image / entry).write_text("#!/bin/sh\nexit 0\n")
        (image / entry).chmod(0o755)
    server = start_server(home)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sm(srv: Server) -> Any:
    return srv.client("sagemaker")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _recent(value: datetime) -> bool:
    return abs(datetime.now(UTC) - value) < timedelta(seconds=30)


def _error(call: Any, **request: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(**request)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def _model(sm: Any, name: str | None = None, **overrides: Any) -> str:
    name = name or _name("m")
    request = {
        "ModelName": name,
        "PrimaryContainer": {"Image": XGBOOST, "ModelDataUrl": MODEL_DATA},
        "ExecutionRoleArn": ROLE,
        **overrides,
    }
    sm.create_model(**{k: v for k, v in request.items() if v is not None})
    return name


def _variant(model: str, name: str = "AllTraffic", **overrides: Any) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": model,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
        **overrides,
    }


# --- containers_of / execution_mode (what the endpoint fleet reads) ---------------------------


def test_containers_of_names_and_defaults_containers() -> None:
    single = {"PrimaryContainer": {"Image": "i", "ContainerHostname": "ignored"}}
    assert containers_of(single) == [
        {"Image": "i", "ContainerHostname": "primary", "Mode": "SingleModel", "Environment": {}}
    ]
    assert execution_mode(single) == "Serial"
    pipeline = {
        "Containers": [
            {"Image": "a", "Environment": {"K": "V"}},
            {"Image": "b", "Mode": "MultiModel"},
        ]
    }
    assert containers_of(pipeline) == [
        {
            "Image": "a",
            "Environment": {"K": "V"},
            "Mode": "SingleModel",
            "ContainerHostname": "container-1",
        },
        {"Image": "b", "Mode": "MultiModel", "Environment": {}, "ContainerHostname": "container-2"},
    ]
    named = {
        "Containers": [{"Image": "a", "ContainerHostname": "pre"}],
        "InferenceExecutionConfig": {"Mode": "Direct"},
    }
    assert [c["ContainerHostname"] for c in containers_of(named)] == ["pre"]
    assert execution_mode(named) == "Direct"


# --- models -------------------------------------------------------------------------------


def test_model_round_trip_with_every_field(sm: Any) -> None:
    name = _name("full")
    container = {
        "ContainerHostname": "xgb",
        "Image": XGBOOST,
        "ImageConfig": {"RepositoryAccessMode": "Platform"},
        "Mode": "SingleModel",
        "ModelDataUrl": MODEL_DATA,
        "Environment": {"SAGEMAKER_CONTAINER_LOG_LEVEL": "20"},
        "MultiModelConfig": {"ModelCacheSetting": "Enabled"},
    }
    vpc = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1", "subnet-2"]}
    created = sm.create_model(
        ModelName=name,
        PrimaryContainer=container,
        ExecutionRoleArn=ROLE,
        Tags=[{"Key": "team", "Value": "a"}],
        VpcConfig=vpc,
        EnableNetworkIsolation=True,
    )
    assert _body(created) == {"ModelArn": f"{ARN}:model/{name}"}
    described = _body(sm.describe_model(ModelName=name))
    assert _recent(described["CreationTime"])
    assert described == {
        "ModelName": name,
        "PrimaryContainer": container,
        "ExecutionRoleArn": ROLE,
        "VpcConfig": vpc,
        "CreationTime": described["CreationTime"],
        "ModelArn": f"{ARN}:model/{name}",
        "EnableNetworkIsolation": True,
    }


def test_model_defaults_are_shown_and_unset_fields_omitted(sm: Any) -> None:
    name = _name("min")
    sm.create_model(ModelName=name, PrimaryContainer={"Image": XGBOOST, "ModelDataUrl": MODEL_DATA})
    described = _body(sm.describe_model(ModelName=name))
    assert described == {
        "ModelName": name,
        "PrimaryContainer": {
            "Image": XGBOOST,
            "ModelDataUrl": MODEL_DATA,
            "Mode": "SingleModel",
            "Environment": {},
        },
        "CreationTime": described["CreationTime"],
        "ModelArn": f"{ARN}:model/{name}",
        "EnableNetworkIsolation": False,
    }


def test_pipeline_and_direct_models_round_trip(sm: Any) -> None:
    serial = _name("pipe")
    containers: list[dict[str, Any]] = [
        {
            "Image": SKLEARN,
            "ModelDataSource": {
                "S3DataSource": {
                    "S3Uri": "s3://models/prep/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            },
            "Environment": {"SAGEMAKER_PROGRAM": "prep.py"},
        },
        {"Image": LOCAL, "ModelDataUrl": "s3://models/local/model.tar.gz"},
        {"Image": PYTORCH, "Environment": {"SAGEMAKER_PROGRAM": "infer.py"}},
    ]
    sm.create_model(ModelName=serial, Containers=containers, ExecutionRoleArn=ROLE)
    described = _body(sm.describe_model(ModelName=serial))
    assert described == {
        "ModelName": serial,
        "Containers": [{"Mode": "SingleModel", "Environment": {}, **c} for c in containers],
        "InferenceExecutionConfig": {"Mode": "Serial"},
        "ExecutionRoleArn": ROLE,
        "CreationTime": described["CreationTime"],
        "ModelArn": f"{ARN}:model/{serial}",
        "EnableNetworkIsolation": False,
    }
    direct = _name("direct")
    named: list[dict[str, Any]] = [
        {"ContainerHostname": "first", "Image": LOCAL, "Mode": "SingleModel", "Environment": {}},
        {"ContainerHostname": "second", "Image": XGBOOST, "ModelDataUrl": MODEL_DATA},
    ]
    sm.create_model(ModelName=direct, Containers=named, InferenceExecutionConfig={"Mode": "Direct"})
    described = _body(sm.describe_model(ModelName=direct))
    assert described["Containers"] == [
        named[0],
        {**named[1], "Mode": "SingleModel", "Environment": {}},
    ]
    assert described["InferenceExecutionConfig"] == {"Mode": "Direct"}


def test_multi_model_container_takes_a_prefix(sm: Any) -> None:
    name = _model(
        sm,
        PrimaryContainer={"Image": LOCAL, "Mode": "MultiModel", "ModelDataUrl": "s3://models/mme/"},
    )
    container = sm.describe_model(ModelName=name)["PrimaryContainer"]
    assert container == {
        "Image": LOCAL,
        "Mode": "MultiModel",
        "ModelDataUrl": "s3://models/mme/",
        "Environment": {},
    }
    alone = {"Image": LOCAL, "Mode": "MultiModel", "ModelDataUrl": "s3://models"}
    name = _model(sm, PrimaryContainer=None, Containers=[alone])
    described = sm.describe_model(ModelName=name)
    assert described["Containers"] == [{**alone, "Environment": {}}]


def test_missing_and_duplicate_models(sm: Any) -> None:
    missing = f'Could not find model "{ARN}:model/nope".'
    assert _error(sm.describe_model, ModelName="nope") == ("ValidationException", missing)
    assert _error(sm.delete_model, ModelName="nope") == ("ValidationException", missing)
    name = _model(sm, _name("Dup"))
    exists = f'Cannot create already existing model "{ARN}:model/{name.lower()}".'
    assert _error(sm.create_model, ModelName=name, PrimaryContainer={"Image": LOCAL}) == (
        "ValidationException",
        exists,
    )
    # Names that differ only in case share an ARN in SageMaker.
    assert _error(sm.create_model, ModelName=name.lower(), PrimaryContainer={"Image": LOCAL}) == (
        "ValidationException",
        exists,
    )


def test_model_tags_and_delete(sm: Any) -> None:
    name = _model(sm, Tags=[{"Key": "team", "Value": "a"}])
    model_arn = f"{ARN}:model/{name}"
    assert sm.list_tags(ResourceArn=model_arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    sm.add_tags(ResourceArn=model_arn, Tags=[{"Key": "stage", "Value": "prod"}])
    assert sm.list_tags(ResourceArn=model_arn)["Tags"] == [
        {"Key": "team", "Value": "a"},
        {"Key": "stage", "Value": "prod"},
    ]
    assert _body(sm.delete_model(ModelName=name)) == {}
    assert _error(sm.describe_model, ModelName=name) == (
        "ValidationException",
        f'Could not find model "{model_arn}".',
    )
    assert _error(sm.list_tags, ResourceArn=model_arn) == (
        "ValidationException",
        f"Resource {model_arn} does not exist.",
    )
    _model(sm, name)
    assert sm.list_tags(ResourceArn=model_arn)["Tags"] == []


def test_list_models_filters_sorts_and_pages(sm: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    names = [f"lm-{tag}-{i}" for i in range(3)]
    for name in names:
        _model(sm, name)
        time.sleep(0.02)
    created = [sm.describe_model(ModelName=n)["CreationTime"] for n in names]
    first = sm.list_models(
        NameContains=f"LM-{tag}", SortBy="Name", SortOrder="Ascending", MaxResults=2
    )
    assert [m["ModelName"] for m in first["Models"]] == names[:2]
    assert first["Models"][0] == {
        "ModelName": names[0],
        "ModelArn": f"{ARN}:model/{names[0]}",
        "CreationTime": created[0],
    }
    rest = sm.list_models(
        NameContains=f"LM-{tag}",
        SortBy="Name",
        SortOrder="Ascending",
        MaxResults=2,
        NextToken=first["NextToken"],
    )
    assert [m["ModelName"] for m in rest["Models"]] == names[2:]
    assert "NextToken" not in rest
    newest = sm.list_models(NameContains=tag)["Models"]
    assert [m["ModelName"] for m in newest] == names[::-1]
    by_name = sm.list_models(NameContains=tag, SortBy="Name")["Models"]
    assert [m["ModelName"] for m in by_name] == names[::-1]
    gap = timedelta(milliseconds=5)
    after = sm.list_models(NameContains=tag, CreationTimeAfter=created[0] + gap)["Models"]
    assert [m["ModelName"] for m in after] == [names[2], names[1]]
    before = sm.list_models(NameContains=tag, CreationTimeBefore=created[2] - gap)["Models"]
    assert [m["ModelName"] for m in before] == [names[1], names[0]]
    pages = list(
        sm.get_paginator("list_models").paginate(NameContains=tag, PaginationConfig={"PageSize": 1})
    )
    assert [m["ModelName"] for p in pages for m in p["Models"]] == names[::-1]
    assert _error(sm.list_models, NameContains="other", NextToken=first["NextToken"]) == (
        "ValidationException",
        "Invalid pagination token. Use the NextToken from the previous response of the same "
        "request.",
    )


IMAGES_DIR_HINT = "/<repository>/ holding an executable 'serve'."

MODEL_ERRORS = [
    (
        {"PrimaryContainer": {"Image": LOCAL}, "Containers": [{"Image": LOCAL}]},
        "Exactly one of PrimaryContainer and Containers must be given.",
    ),
    ({"Containers": []}, "Exactly one of PrimaryContainer and Containers must be given."),
    (
        {"PrimaryContainer": {"ModelPackageName": "my-package"}},
        "PrimaryContainer: ModelPackageName is not supported by Sagebrush (it stores no model "
        "packages); give the container's Image and ModelDataUrl instead.",
    ),
    ({"PrimaryContainer": {"ModelDataUrl": MODEL_DATA}}, "PrimaryContainer: Image is required."),
    (
        {
            "PrimaryContainer": {
                "Image": LOCAL,
                "AdditionalModelDataSources": [
                    {
                        "ChannelName": "extra",
                        "S3DataSource": {
                            "S3Uri": "s3://models/extra/",
                            "S3DataType": "S3Prefix",
                            "CompressionType": "None",
                        },
                    }
                ],
            }
        },
        "PrimaryContainer: AdditionalModelDataSources is not supported by Sagebrush; package "
        "the extra artifacts into the model's ModelDataUrl.",
    ),
    (
        {
            "PrimaryContainer": {
                "Image": f"{ECR}/image-classification:1",
                "ModelDataUrl": MODEL_DATA,
            }
        },
        f"Built-in algorithm image {ECR}/image-classification:1 (image-classification) cannot "
        "be served by this Sagebrush version: built-in algorithms available: "
        "factorization-machines, kmeans, knn, lightgbm, linear-learner, pca, randomcutforest, "
        "xgboost.",
    ),
    (
        {"PrimaryContainer": {"Image": TENSORFLOW}},
        f"Image {TENSORFLOW} is a tensorflow framework image, which this Sagebrush version "
        "cannot serve: framework model servers are available for scikit-learn, XGBoost and "
        "PyTorch images.",
    ),
    (
        {
            "PrimaryContainer": {
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train-only:1"
            }
        },
        "Image 123456789012.dkr.ecr.us-east-1.amazonaws.com/train-only:1 does not exist or is "
        "not an inference image Sagebrush can serve. Use a SageMaker built-in algorithm image, "
        "a framework image (scikit-learn, XGBoost, PyTorch) for script mode, or register a "
        "local image: a directory {images}" + IMAGES_DIR_HINT,
    ),
    (
        {"PrimaryContainer": {"Image": XGBOOST}},
        f"PrimaryContainer: ModelDataUrl is required for the built-in algorithm image {XGBOOST}.",
    ),
    (
        {"PrimaryContainer": {"Image": LOCAL, "ModelDataUrl": "https://example.com/model.tar.gz"}},
        "PrimaryContainer: ModelDataUrl https://example.com/model.tar.gz is not an "
        "s3://bucket/key URI.",
    ),
    (
        {"PrimaryContainer": {"Image": LOCAL, "ModelDataUrl": "s3://models/"}},
        "PrimaryContainer: ModelDataUrl s3://models/ is not an s3://bucket/key URI.",
    ),
    (
        {
            "PrimaryContainer": {
                "Image": LOCAL,
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": "s3://models/prefix",
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                    }
                },
            }
        },
        "PrimaryContainer: ModelDataSource.S3DataSource.S3Uri s3://models/prefix must end with "
        "'/' when S3DataType is S3Prefix.",
    ),
    (
        {
            "PrimaryContainer": {
                "Image": LOCAL,
                "ModelDataUrl": MODEL_DATA,
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": "s3://models/other.tar.gz",
                        "S3DataType": "S3Object",
                        "CompressionType": "Gzip",
                    }
                },
            }
        },
        "PrimaryContainer: ModelDataUrl and ModelDataSource name different model data; give "
        "one of them.",
    ),
    (
        {"PrimaryContainer": {"Image": LOCAL, "Mode": "MultiModel"}},
        "PrimaryContainer: Mode MultiModel requires ModelDataUrl, the S3 prefix that holds the "
        "models (TargetModel names a model relative to it).",
    ),
    (
        {
            "PrimaryContainer": {
                "Image": LOCAL,
                "Mode": "MultiModel",
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": "s3://models/mme/",
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                    }
                },
            }
        },
        "PrimaryContainer: ModelDataSource cannot be used with Mode MultiModel; give the "
        "models' S3 prefix as ModelDataUrl.",
    ),
    (
        {"Containers": [{"Image": LOCAL, "ContainerHostname": "a"}, {"Image": LOCAL}]},
        "If ContainerHostname is given for any container of a multi-container model, it must "
        "be given for every container: Containers.2 has none.",
    ),
    (
        {
            "Containers": [{"Image": LOCAL}, {"Image": LOCAL}],
            "InferenceExecutionConfig": {"Mode": "Direct"},
        },
        "InferenceExecutionConfig Mode Direct requires a ContainerHostname on every container "
        "(clients address containers by it): Containers.1, Containers.2 have none.",
    ),
    (
        {
            "Containers": [
                {"Image": LOCAL, "ContainerHostname": "same"},
                {"Image": LOCAL, "ContainerHostname": "same"},
            ]
        },
        "ContainerHostname must be unique within a model: same is used more than once.",
    ),
    (
        {
            "Containers": [
                {"Image": LOCAL, "Mode": "MultiModel", "ModelDataUrl": "s3://models/a/"},
                {"Image": LOCAL, "Mode": "MultiModel", "ModelDataUrl": "s3://models/b/"},
            ]
        },
        "More than one container in MultiModel mode is not supported with inference pipeline.",
    ),
    (
        {
            "Containers": [
                {"Image": LOCAL},
                {"Image": LOCAL, "Mode": "MultiModel", "ModelDataUrl": "s3://models/a/"},
            ]
        },
        "A MultiModel container cannot be part of a multi-container model in Sagebrush: "
        "create it as a model with a single container.",
    ),
]


@pytest.mark.parametrize(("request_", "message"), MODEL_ERRORS)
def test_model_validation_errors(
    srv: Server, sm: Any, request_: dict[str, Any], message: str
) -> None:
    name = _name("bad")
    expected = message.replace("{images}", str(srv.home / "images"))
    assert _error(sm.create_model, ModelName=name, **request_) == ("ValidationException", expected)
    assert _error(sm.describe_model, ModelName=name)[0] == "ValidationException"


def test_sizes_the_service_model_limits_are_refused(sm: Any) -> None:
    code, message = _error(
        sm.create_model, ModelName=_name("big"), Containers=[{"Image": LOCAL}] * 16
    )
    assert code == "ValidationException"
    assert "Member must have length less than or equal to 15" in message
    environment = {f"K{i}": "v" for i in range(101)}
    code, message = _error(
        sm.create_model,
        ModelName=_name("env"),
        PrimaryContainer={"Image": LOCAL, "Environment": environment},
    )
    assert code == "ValidationException"
    assert "Member must have length less than or equal to 100" in message


# --- endpoint configurations ----------------------------------------------------------------


def test_endpoint_config_round_trip_with_every_field(sm: Any) -> None:
    a, b = _model(sm), _model(sm)
    name = _name("cfg")
    first = _variant(
        a,
        "A",
        InitialVariantWeight=0.7,
        VolumeSizeInGB=10,
        ModelDataDownloadTimeoutInSeconds=600,
        ContainerStartupHealthCheckTimeoutInSeconds=300,
        RoutingConfig={"RoutingStrategy": "RANDOM"},
    )
    second = _variant(b, "B", InstanceType="ml.c5.xlarge", InitialInstanceCount=2)
    capture = {
        "EnableCapture": False,
        "InitialSamplingPercentage": 50,
        "DestinationS3Uri": "s3://capture/out",
        "KmsKeyId": "capture-key",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }
    vpc = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    created = sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[first, second],
        DataCaptureConfig=capture,
        Tags=[{"Key": "team", "Value": "a"}],
        KmsKeyId="config-key",
        ExecutionRoleArn=ROLE,
        VpcConfig=vpc,
        EnableNetworkIsolation=False,
    )
    config_arn = f"{ARN}:endpoint-config/{name}"
    assert _body(created) == {"EndpointConfigArn": config_arn}
    described = _body(sm.describe_endpoint_config(EndpointConfigName=name))
    assert _recent(described["CreationTime"])
    assert described == {
        "EndpointConfigName": name,
        "EndpointConfigArn": config_arn,
        "ProductionVariants": [first, {**second, "InitialVariantWeight": 1.0}],
        "DataCaptureConfig": capture,
        "KmsKeyId": "config-key",
        "ExecutionRoleArn": ROLE,
        "VpcConfig": vpc,
        "EnableNetworkIsolation": False,
        "CreationTime": described["CreationTime"],
    }
    assert sm.list_tags(ResourceArn=config_arn)["Tags"] == [{"Key": "team", "Value": "a"}]


def test_endpoint_config_omits_every_optional_member_not_set(sm: Any) -> None:
    model, name = _model(sm), _name("bare")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[_variant(model)])
    described = _body(sm.describe_endpoint_config(EndpointConfigName=name))
    assert described == {
        "EndpointConfigName": name,
        "EndpointConfigArn": f"{ARN}:endpoint-config/{name}",
        "ProductionVariants": [{**_variant(model), "InitialVariantWeight": 1.0}],
        "CreationTime": described["CreationTime"],
    }


def test_shadow_and_serverless_configs_round_trip(sm: Any) -> None:
    live, shadow, name = _model(sm), _model(sm), _name("shadow")
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[_variant(live, "Live")],
        ShadowProductionVariants=[_variant(shadow, "Shadow", InitialVariantWeight=0.5)],
    )
    described = sm.describe_endpoint_config(EndpointConfigName=name)
    assert described["ProductionVariants"] == [
        {**_variant(live, "Live"), "InitialVariantWeight": 1.0}
    ]
    assert described["ShadowProductionVariants"] == [
        _variant(shadow, "Shadow", InitialVariantWeight=0.5)
    ]
    serverless = {
        "VariantName": "AllTraffic",
        "ModelName": live,
        "ServerlessConfig": {
            "MemorySizeInMB": 2048,
            "MaxConcurrency": 5,
            "ProvisionedConcurrency": 2,
        },
    }
    name = _name("serverless")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[serverless])
    described = sm.describe_endpoint_config(EndpointConfigName=name)
    assert described["ProductionVariants"] == [{**serverless, "InitialVariantWeight": 1.0}]


def test_deleting_models_and_configs_in_use_is_allowed(sm: Any) -> None:
    model, name = _model(sm), _name("inuse")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[_variant(model)])
    assert _body(sm.delete_model(ModelName=model)) == {}
    assert (
        sm.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"][0]["ModelName"]
        == model
    )
    assert _body(sm.delete_endpoint_config(EndpointConfigName=name)) == {}
    missing = f'Could not find endpoint configuration "{ARN}:endpoint-config/{name}".'
    for call in (sm.describe_endpoint_config, sm.delete_endpoint_config):
        assert _error(call, EndpointConfigName=name) == ("ValidationException", missing)


def test_duplicate_endpoint_config(sm: Any) -> None:
    model, name = _model(sm), _name("Twice")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[_variant(model)])
    exists = (
        f'Cannot create already existing endpoint configuration "{ARN}:endpoint-config/'
        f'{name.lower()}".'
    )
    for again in (name, name.lower()):
        assert _error(
            sm.create_endpoint_config,
            EndpointConfigName=again,
            ProductionVariants=[_variant(model)],
        ) == ("ValidationException", exists)


def test_list_endpoint_configs_filters_sorts_and_pages(sm: Any) -> None:
    model, tag = _model(sm), uuid.uuid4().hex[:6]
    names = [f"lc-{tag}-{i}" for i in (2, 0, 1)]
    for name in names:
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[_variant(model)])
        time.sleep(0.02)
    created = [sm.describe_endpoint_config(EndpointConfigName=n)["CreationTime"] for n in names]
    first = sm.list_endpoint_configs(
        NameContains=tag.upper(), SortBy="Name", SortOrder="Ascending", MaxResults=2
    )
    assert first["EndpointConfigs"] == [
        {
            "EndpointConfigName": names[i],
            "EndpointConfigArn": f"{ARN}:endpoint-config/{names[i]}",
            "CreationTime": created[i],
        }
        for i in (1, 2)
    ]
    rest = sm.list_endpoint_configs(
        NameContains=tag.upper(),
        SortBy="Name",
        SortOrder="Ascending",
        MaxResults=2,
        NextToken=first["NextToken"],
    )
    assert [c["EndpointConfigName"] for c in rest["EndpointConfigs"]] == [names[0]]
    assert "NextToken" not in rest
    newest = sm.list_endpoint_configs(NameContains=tag)["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in newest] == names[::-1]
    oldest = sm.list_endpoint_configs(NameContains=tag, SortOrder="Ascending")["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in oldest] == names
    gap = timedelta(milliseconds=5)
    window = sm.list_endpoint_configs(
        NameContains=tag, CreationTimeAfter=created[0] + gap, CreationTimeBefore=created[2] - gap
    )["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in window] == [names[1]]


SERVERLESS = {"MemorySizeInMB": 1024, "MaxConcurrency": 2}


def _config_errors(model: str, pipeline: str, mme: str) -> list[tuple[dict[str, Any], str]]:
    capture = {
        "InitialSamplingPercentage": 10,
        "DestinationS3Uri": "s3://capture/",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    return [
        (
            {"AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://out/"}}},
            "AsyncInferenceConfig is not supported by Sagebrush: asynchronous inference "
            "endpoints cannot be created. Remove it to create a real-time endpoint "
            "configuration.",
        ),
        (
            {
                "ExplainerConfig": {
                    "ClarifyExplainerConfig": {
                        "ShapConfig": {
                            "ShapBaselineConfig": {"MimeType": "text/csv", "ShapBaseline": "1,2"}
                        }
                    }
                }
            },
            "ExplainerConfig is not supported by Sagebrush: online explainability (SageMaker "
            "Clarify) is not available. Remove it to create the endpoint configuration.",
        ),
        (
            {
                "ProductionVariants": [_variant(model, "A"), _variant(model, "B")],
                "ShadowProductionVariants": [_variant(model, "S")],
            },
            "When ShadowProductionVariants is given, ProductionVariants and "
            "ShadowProductionVariants must each hold exactly one variant.",
        ),
        (
            {"ProductionVariants": [_variant(model, "A"), _variant(model, "A")]},
            "Variant names must be unique within an endpoint configuration: A appears more "
            "than once.",
        ),
        (
            {
                "ProductionVariants": [_variant(model, "A")],
                "ShadowProductionVariants": [_variant(model, "A")],
            },
            "Variant names must be unique within an endpoint configuration: A appears more "
            "than once.",
        ),
        (
            {
                "ProductionVariants": [
                    {"VariantName": "A", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
                ]
            },
            "Variant A: ModelName is required (variants without a model, for inference "
            "components, are not supported by Sagebrush).",
        ),
        (
            {"ProductionVariants": [_variant("no-such-model")]},
            f'Could not find model "{ARN}:model/no-such-model".',
        ),
        (
            {
                "ProductionVariants": [
                    {"VariantName": "A", "ModelName": model, "InstanceType": "ml.m5.large"}
                ]
            },
            "Variant A: InstanceType and InitialInstanceCount are required unless "
            "ServerlessConfig is given.",
        ),
        (
            {"ProductionVariants": [_variant(model, "A", ServerlessConfig=SERVERLESS)]},
            "Variant A: give either InstanceType and InitialInstanceCount, or "
            "ServerlessConfig, not both.",
        ),
        (
            {
                "ProductionVariants": [
                    {
                        "VariantName": "A",
                        "ModelName": model,
                        "ServerlessConfig": {"MemorySizeInMB": 1500, "MaxConcurrency": 2},
                    }
                ]
            },
            "Variant A: ServerlessConfig.MemorySizeInMB must be one of 1024, 2048, 3072, "
            "4096, 5120, 6144.",
        ),
        (
            {
                "ProductionVariants": [
                    {
                        "VariantName": "A",
                        "ModelName": model,
                        "ServerlessConfig": {**SERVERLESS, "ProvisionedConcurrency": 3},
                    }
                ]
            },
            "Variant A: ServerlessConfig.ProvisionedConcurrency (3) must be less than or "
            "equal to MaxConcurrency (2).",
        ),
        (
            {
                "ProductionVariants": [
                    {"VariantName": "A", "ModelName": pipeline, "ServerlessConfig": SERVERLESS}
                ]
            },
            f"Variant A: model {pipeline} has 2 containers; serverless variants serve "
            "single-container models only.",
        ),
        (
            {
                "ProductionVariants": [
                    {"VariantName": "A", "ModelName": mme, "ServerlessConfig": SERVERLESS}
                ]
            },
            f"Variant A: model {mme} is a multi-model (Mode MultiModel) model, which "
            "serverless variants cannot host.",
        ),
        (
            {
                "ProductionVariants": [_variant(model, "A")],
                "ShadowProductionVariants": [_variant(pipeline, "S")],
            },
            "Shadow variants cannot be used with serverless variants, multi-container models "
            f"or multi-model (MultiModel) models: variant S (model {pipeline}) is one.",
        ),
        (
            {"DataCaptureConfig": {**capture, "DestinationS3Uri": "https://capture/"}},
            "DataCaptureConfig.DestinationS3Uri https://capture/ is not an s3:// URI.",
        ),
        (
            {
                "DataCaptureConfig": {
                    **capture,
                    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Input"}],
                }
            },
            "DataCaptureConfig.CaptureOptions: capture mode Input appears more than once.",
        ),
    ]


def test_endpoint_config_validation_errors(sm: Any) -> None:
    model = _model(sm)
    pipeline = _model(sm, Containers=[{"Image": LOCAL}, {"Image": LOCAL}], PrimaryContainer=None)
    mme = _model(
        sm, PrimaryContainer={"Image": LOCAL, "Mode": "MultiModel", "ModelDataUrl": "s3://m/"}
    )
    for change, message in _config_errors(model, pipeline, mme):
        name = _name("badcfg")
        request = {"EndpointConfigName": name, "ProductionVariants": [_variant(model)], **change}
        assert _error(sm.create_endpoint_config, **request) == ("ValidationException", message)
        assert _error(sm.describe_endpoint_config, EndpointConfigName=name)[0] == (
            "ValidationException"
        )
