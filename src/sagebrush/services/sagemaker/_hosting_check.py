"""CreateModel's and CreateEndpointConfig's rules beyond what the service model checks.

Botocore's model (required members, lengths, enums, patterns, ranges) is checked before a
provider runs; these are SageMaker's semantic rules, plus what Sagebrush cannot serve,
refused at create time rather than when an endpoint starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sagebrush.algorithms import IMPLEMENTED
from sagebrush.config import Settings
from sagebrush.container.images import BUILTIN, SCRIPT, UNKNOWN, resolve_serving_image
from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import arn, validation
from sagebrush.services.sagemaker._hosting_view import containers_of, execution_mode

__all__ = ["check_endpoint_config", "check_model", "containers_of", "execution_mode"]

# Script-mode frameworks whose model servers Sagebrush implements (sagebrush.inference).
SERVABLE_FRAMEWORKS = {"sklearn": "scikit-learn", "xgboost": "XGBoost", "pytorch": "PyTorch"}
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)

FindModel = Callable[[str], Mapping[str, Any] | None]


# --- CreateModel --------------------------------------------------------------------------


def check_model(request: Mapping[str, Any], settings: Settings) -> None:
    primary, containers = request.get("PrimaryContainer"), request.get("Containers")
    if bool(primary) == bool(containers):
        raise validation("Exactly one of PrimaryContainer and Containers must be given.")
    labelled = [("PrimaryContainer", primary)] if primary else []
    labelled += [(f"Containers.{i}", c) for i, c in enumerate(containers or [], 1)]
    for label, container in labelled:
        _check_image(label, container, settings)
        _check_model_data(label, container)
    if containers:
        _check_pipeline(request, containers)


def _check_image(label: str, container: Mapping[str, Any], settings: Settings) -> None:
    if container.get("ModelPackageName"):
        raise validation(
            f"{label}: ModelPackageName is not supported by Sagebrush (it stores no model "
            "packages); give the container's Image and ModelDataUrl instead."
        )
    image = container.get("Image")
    if not image:
        raise validation(f"{label}: Image is required.")
    if container.get("AdditionalModelDataSources"):
        raise validation(
            f"{label}: AdditionalModelDataSources is not supported by Sagebrush; package "
            "the extra artifacts into the model's ModelDataUrl."
        )
    runtime = resolve_serving_image(image, settings.images_dir, container.get("Environment") or {})
    if runtime.kind == BUILTIN and runtime.framework not in IMPLEMENTED:
        raise validation(
            f"Built-in algorithm image {image} ({runtime.framework}) cannot be served by this "
            f"Sagebrush version: built-in algorithms available: {', '.join(sorted(IMPLEMENTED))}."
        )
    if runtime.kind == SCRIPT and runtime.framework not in SERVABLE_FRAMEWORKS:
        *others, last = SERVABLE_FRAMEWORKS.values()
        raise validation(
            f"Image {image} is a {runtime.framework} framework image, which this Sagebrush "
            "version cannot serve: framework model servers are available for "
            f"{', '.join(others)} and {last} images."
        )
    if runtime.kind == UNKNOWN:
        raise validation(
            f"Image {image} does not exist or is not an inference image Sagebrush can serve. "
            "Use a SageMaker built-in algorithm image, a framework image (scikit-learn, "
            "XGBoost, PyTorch) for script mode, or register a local image: a directory "
            f"{settings.images_dir}/<repository>/ holding an executable 'serve'."
        )
    data = container.get("ModelDataUrl") or container.get("ModelDataSource")
    if runtime.kind == BUILTIN and not data:
        raise validation(
            f"{label}: ModelDataUrl is required for the built-in algorithm image {image}."
        )


def _check_model_data(label: str, container: Mapping[str, Any]) -> None:
    url = container.get("ModelDataUrl")
    multi_model = container.get("Mode") == "MultiModel"
    if url is not None:
        bucket, _, key = str(url).removeprefix("s3://").partition("/")
        # A multi-model prefix may be a whole bucket; a single model names an object.
        if not url.startswith("s3://") or not bucket or not (key or multi_model):
            raise validation(f"{label}: ModelDataUrl {url} is not an s3://bucket/key URI.")
    source = (container.get("ModelDataSource") or {}).get("S3DataSource")
    if source is not None:
        uri = str(source["S3Uri"])
        if not uri.startswith("s3://") or not uri.removeprefix("s3://").split("/")[0]:
            raise validation(
                f"{label}: ModelDataSource.S3DataSource.S3Uri {uri} is not an s3:// URI."
            )
        if source["S3DataType"] == "S3Prefix" and not uri.endswith("/"):
            raise validation(
                f"{label}: ModelDataSource.S3DataSource.S3Uri {uri} must end with '/' when "
                "S3DataType is S3Prefix."
            )
        if url is not None and url != uri:
            raise validation(
                f"{label}: ModelDataUrl and ModelDataSource name different model data; "
                "give one of them."
            )
    if multi_model and source is not None:
        raise validation(
            f"{label}: ModelDataSource cannot be used with Mode MultiModel; give the "
            "models' S3 prefix as ModelDataUrl."
        )
    if multi_model and url is None:
        raise validation(
            f"{label}: Mode MultiModel requires ModelDataUrl, the S3 prefix that holds the "
            "models (TargetModel names a model relative to it)."
        )


def _check_pipeline(request: Mapping[str, Any], containers: list[Mapping[str, Any]]) -> None:
    given = [c.get("ContainerHostname") for c in containers]
    missing = [f"Containers.{i}" for i, name in enumerate(given, 1) if not name]
    if execution_mode(request) == "Direct" and missing:
        raise validation(
            "InferenceExecutionConfig Mode Direct requires a ContainerHostname on every "
            f"container (clients address containers by it): {_none(missing)}."
        )
    if missing and len(missing) < len(containers):
        raise validation(
            "If ContainerHostname is given for any container of a multi-container model, it "
            f"must be given for every container: {_none(missing)}."
        )
    names = [c["ContainerHostname"] for c in containers_of(request)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise validation(
            f"ContainerHostname must be unique within a model: {', '.join(duplicates)} is "
            "used more than once."
        )
    multi_model = sum(c.get("Mode") == "MultiModel" for c in containers)
    if multi_model > 1:
        raise validation(
            "More than one container in MultiModel mode is not supported with inference pipeline."
        )
    if multi_model and len(containers) > 1:
        raise validation(
            "A MultiModel container cannot be part of a multi-container model in Sagebrush: "
            "create it as a model with a single container."
        )


def _none(labels: list[str]) -> str:
    return f"{', '.join(labels)} {'has' if len(labels) == 1 else 'have'} none"


# --- CreateEndpointConfig ---------------------------------------------------------------


def check_endpoint_config(
    ctx: RequestContext, request: Mapping[str, Any], find_model: FindModel
) -> None:
    """``find_model`` gives a model's stored create request by name, None when missing."""
    _check_unsupported(request)
    production = list(request["ProductionVariants"])
    shadow = list(request.get("ShadowProductionVariants") or [])
    if shadow and (len(production) != 1 or len(shadow) != 1):
        raise validation(
            "When ShadowProductionVariants is given, ProductionVariants and "
            "ShadowProductionVariants must each hold exactly one variant."
        )
    names = [v["VariantName"] for v in production + shadow]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise validation(
            "Variant names must be unique within an endpoint configuration: "
            f"{', '.join(duplicates)} appears more than once."
        )
    for variant in production + shadow:
        model = _model_of(ctx, variant, find_model)
        _check_capacity(variant, model)
        if shadow:
            _check_shadowable(variant, model)
    _check_data_capture(request.get("DataCaptureConfig"))


def _check_unsupported(request: Mapping[str, Any]) -> None:
    if request.get("AsyncInferenceConfig"):
        raise validation(
            "AsyncInferenceConfig is not supported by Sagebrush: asynchronous inference "
            "endpoints cannot be created. Remove it to create a real-time endpoint "
            "configuration."
        )
    if request.get("ExplainerConfig"):
        raise validation(
            "ExplainerConfig is not supported by Sagebrush: online explainability "
            "(SageMaker Clarify) is not available. Remove it to create the endpoint "
            "configuration."
        )


def _model_of(
    ctx: RequestContext, variant: Mapping[str, Any], find_model: FindModel
) -> Mapping[str, Any]:
    name = variant.get("ModelName")
    if not name:
        raise validation(
            f"Variant {variant['VariantName']}: ModelName is required (variants without a "
            "model, for inference components, are not supported by Sagebrush)."
        )
    model = find_model(name)
    if model is None:
        raise validation(f'Could not find model "{arn(ctx, "model", name)}".')
    return model


def _check_capacity(variant: Mapping[str, Any], model: Mapping[str, Any]) -> None:
    name, serverless = variant["VariantName"], variant.get("ServerlessConfig")
    instances = [variant.get("InstanceType"), variant.get("InitialInstanceCount")]
    if serverless is None:
        if not all(instances):
            raise validation(
                f"Variant {name}: InstanceType and InitialInstanceCount are required unless "
                "ServerlessConfig is given."
            )
        return
    if any(instances):
        raise validation(
            f"Variant {name}: give either InstanceType and InitialInstanceCount, or "
            "ServerlessConfig, not both."
        )
    if serverless["MemorySizeInMB"] not in SERVERLESS_MEMORY_SIZES:
        raise validation(
            f"Variant {name}: ServerlessConfig.MemorySizeInMB must be one of "
            f"{', '.join(map(str, SERVERLESS_MEMORY_SIZES))}."
        )
    provisioned, most = serverless.get("ProvisionedConcurrency"), serverless["MaxConcurrency"]
    if provisioned is not None and provisioned > most:
        raise validation(
            f"Variant {name}: ServerlessConfig.ProvisionedConcurrency ({provisioned}) must be "
            f"less than or equal to MaxConcurrency ({most})."
        )
    containers = containers_of(model)
    if len(containers) > 1:
        raise validation(
            f"Variant {name}: model {variant['ModelName']} has {len(containers)} containers; "
            "serverless variants serve single-container models only."
        )
    if containers[0]["Mode"] == "MultiModel":
        raise validation(
            f"Variant {name}: model {variant['ModelName']} is a multi-model (Mode "
            "MultiModel) model, which serverless variants cannot host."
        )
    if containers[0].get("ModelDataSource"):
        raise validation(
            f"Variant {name}: model {variant['ModelName']} uses ModelDataSource, which "
            "serverless variants do not support; give its model data as ModelDataUrl."
        )


def _check_shadowable(variant: Mapping[str, Any], model: Mapping[str, Any]) -> None:
    containers = containers_of(model)
    if (
        variant.get("ServerlessConfig")
        or len(containers) > 1
        or containers[0]["Mode"] == "MultiModel"
    ):
        raise validation(
            "Shadow variants cannot be used with serverless variants, multi-container models "
            f"or multi-model (MultiModel) models: variant {variant['VariantName']} (model "
            f"{variant['ModelName']}) is one."
        )


def _check_data_capture(capture: Mapping[str, Any] | None) -> None:
    if capture is None:
        return
    uri = str(capture["DestinationS3Uri"])
    if not uri.startswith("s3://") or not uri.removeprefix("s3://").split("/")[0]:
        raise validation(f"DataCaptureConfig.DestinationS3Uri {uri} is not an s3:// URI.")
    modes = [option["CaptureMode"] for option in capture["CaptureOptions"]]
    duplicates = sorted({m for m in modes if modes.count(m) > 1})
    if duplicates:
        raise validation(
            f"DataCaptureConfig.CaptureOptions: capture mode {', '.join(duplicates)} appears "
            "more than once."
        )
