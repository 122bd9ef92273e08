"""SageMaker's List/Describe answers for the resource kinds that cannot be created yet."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Body, Headers, HttpRequest
from sagebrush.aws.models import ServiceCatalog
from sagebrush.config import Settings
from sagebrush.services.base import RequestContext, Runtime
from sagebrush.services.registry import ProviderRegistry
from sagebrush.services.sagemaker.provider import SageMakerProvider
from sagebrush.services.sagemaker.unbuilt import UnbuiltKinds, unbuilt_kinds

CATALOG = ServiceCatalog()
MODEL = CATALOG.model("sagemaker")
KINDS = unbuilt_kinds(MODEL, SageMakerProvider)


def _call(kinds: UnbuiltKinds, operation: str, **members: Any) -> dict[str, Any]:
    handler = kinds.handler(operation)
    assert handler is not None, operation
    result: dict[str, Any] = handler(None, **{xform_name(k): v for k, v in members.items()})
    return result


def _error(kinds: UnbuiltKinds, operation: str, **members: Any) -> AwsError:
    with pytest.raises(AwsError) as err:
        _call(kinds, operation, **members)
    return err.value


def test_a_kind_that_can_be_created_has_real_list_and_describe_methods() -> None:
    # The empty answers are only true while nothing can be created: no gap may hide behind them.
    for name in MODEL.operation_names:
        if not name.startswith(("List", "Describe")) or name in KINDS.implemented:
            continue
        kind = name.removeprefix("List").removeprefix("Describe")
        assert not KINDS.buildable(kind), f"{name}: its kind can be created, so implement it"
    assert KINDS.buildable("Models") and KINDS.buildable("TrainingJob")
    assert KINDS.buildable("HyperParameterTuningJobs")


def test_lists_of_unbuilt_kinds_are_empty_and_their_describes_not_found() -> None:
    assert _call(KINDS, "ListMonitoringSchedules") == {"MonitoringScheduleSummaries": []}
    assert _call(KINDS, "ListProcessingJobs", StatusEquals="Completed") == {
        "ProcessingJobSummaries": []
    }
    error = _error(KINDS, "DescribeMonitoringSchedule", MonitoringScheduleName="nightly")
    assert (error.code, error.status) == ("ResourceNotFound", 400)
    assert error.message == "Monitoring schedule 'nightly' does not exist."
    # No ResourceNotFound declared: SageMaker's ValidationException, as the SDK expects.
    error = _error(KINDS, "DescribeModelPackage", ModelPackageName="pkg")
    assert (error.code, error.message) == (
        "ValidationException",
        "Could not find model package 'pkg'.",
    )
    error = _error(KINDS, "DescribeInferenceComponent", InferenceComponentName="ic")
    assert error.message.startswith("Could not find inference component")


def test_a_list_of_one_missing_resources_children_says_the_parent_is_missing() -> None:
    error = _error(KINDS, "ListPipelineExecutions", PipelineName="etl")
    assert (error.code, error.message) == ("ResourceNotFound", "Pipeline 'etl' does not exist.")
    error = _error(KINDS, "ListAliases", ImageName="img")
    assert error.message == "Image 'img' does not exist."
    error = _error(KINDS, "DescribeImageVersion", ImageName="img")
    assert error.message == "Image 'img' does not exist."
    error = _error(KINDS, "DescribeDataQualityJobDefinition", JobDefinitionName="dq")
    assert error.message == "Data quality job definition 'dq' does not exist."


def test_everything_else_stays_not_implemented() -> None:
    for name in (
        "CreateMonitoringSchedule",
        "UpdateMonitoringSchedule",
        "DeleteMonitoringSchedule",
        "StartMonitoringSchedule",
        "StopProcessingJob",
        "ListModels",  # implemented by a method
        "DescribeTrainingJob",
        "NoSuchOperation",
    ):
        assert KINDS.handler(name) is None, name


def test_once_a_kind_can_be_created_its_list_is_no_longer_answered_empty() -> None:
    kinds = UnbuiltKinds(MODEL, KINDS.implemented | {"CreateMonitoringSchedule"})
    assert kinds.handler("ListMonitoringSchedules") is None
    assert kinds.handler("DescribeMonitoringSchedule") is None
    assert kinds.handler("ListMonitoringAlerts") is None  # children of a creatable kind
    devices = UnbuiltKinds(MODEL, KINDS.implemented | {"RegisterDevices"})
    assert devices.handler("ListDevices") is None


def test_every_list_output_has_one_list_member() -> None:
    plan = KINDS.plan()
    assert plan["ListMonitoringSchedules"] == "empty"
    assert plan["DescribeMonitoringSchedule"] == "missing"
    for name, answer in plan.items():
        if answer == "empty":
            result = _call(KINDS, name)
            shape = MODEL.operation_model(name).output_shape
            assert shape is not None
            ((member, value),) = result.items()
            assert shape.members[member].type_name == "list" and value == []


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    from sagebrush.state.db import Database

    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.migrate()
    settings = Settings(home=tmp_path)
    yield Runtime(settings=settings, catalog=CATALOG, db=db, objects=None)  # type: ignore[arg-type]
    db.dispose()


def _ctx(operation: str) -> RequestContext:
    request = HttpRequest("POST", "/", [], Headers(), Body(b""))
    return RequestContext("r", "000000000000", "us-east-1", "sagemaker", operation, None, request)


def test_registry_dispatch_consults_the_provider_for_unimplemented_operations(
    runtime: Runtime,
) -> None:
    registry = ProviderRegistry(runtime)
    listed = asyncio.run(registry.dispatch(_ctx("ListMonitoringSchedules"), {"MaxResults": 10}))
    assert listed == {"MonitoringScheduleSummaries": []}
    with pytest.raises(AwsError) as err:
        asyncio.run(registry.dispatch(_ctx("CreateMonitoringSchedule"), {}))
    assert (err.value.code, err.value.status) == ("NotImplemented", 501)
    assert "CreateMonitoringSchedule" in err.value.message
