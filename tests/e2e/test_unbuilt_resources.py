"""SageMaker resource kinds that cannot be created yet list empty and describe as missing.

The sagemaker SDK's clean-up lists an endpoint's monitoring schedules before deleting it
(``predictor.list_monitors()``, and the clean-up helper of the SDK's own integration tests
that stops and deletes each monitor first); a NotImplemented there left endpoints behind.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagebrush.testing import Server
from tests.e2e._endpoints import create_model, deploy, register_echo_image, variant
from tests.e2e._offline import run_offline


def _error(call: Any, **request: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as err:
        call(**request)
    response: dict[str, Any] = err.value.response
    return {
        "Code": response["Error"]["Code"],
        "Message": response["Error"]["Message"],
        "Status": response["ResponseMetadata"]["HTTPStatusCode"],
    }


def test_monitoring_schedules_list_empty_and_describe_as_missing(server: Server) -> None:
    sm = server.client("sagemaker")
    listed = sm.list_monitoring_schedules()
    listed.pop("ResponseMetadata")
    assert listed == {"MonitoringScheduleSummaries": []}
    filtered = sm.list_monitoring_schedules(
        EndpointName="ep", SortBy="CreationTime", SortOrder="Descending", MaxResults=100
    )
    assert filtered["MonitoringScheduleSummaries"] == []
    pages = list(sm.get_paginator("list_monitoring_schedules").paginate())
    assert [p["MonitoringScheduleSummaries"] for p in pages] == [[]]
    assert (
        sm.list_monitoring_executions(MonitoringScheduleName="nightly")[
            "MonitoringExecutionSummaries"
        ]
        == []
    )

    missing = _error(sm.describe_monitoring_schedule, MonitoringScheduleName="nightly")
    assert missing == {
        "Code": "ResourceNotFound",
        "Message": "Monitoring schedule 'nightly' does not exist.",
        "Status": 400,
    }
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_monitoring_schedule(MonitoringScheduleName="nightly")


def test_input_is_still_validated(server: Server) -> None:
    sm = server.client("sagemaker")
    bad = _error(sm.list_monitoring_schedules, StatusEquals="Sleeping")
    assert (bad["Code"], bad["Status"]) == ("ValidationException", 400)
    assert "statusEquals" in bad["Message"]
    bad = _error(sm.describe_monitoring_schedule, MonitoringScheduleName="bad name!")
    assert (bad["Code"], bad["Status"]) == ("ValidationException", 400)


def test_creating_and_changing_an_unbuilt_kind_is_not_implemented(server: Server) -> None:
    sm = server.client("sagemaker")
    create = _error(
        sm.create_monitoring_schedule,
        MonitoringScheduleName="nightly",
        MonitoringScheduleConfig={
            "MonitoringJobDefinitionName": "dq",
            "MonitoringType": "DataQuality",
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        },
        Tags=[],
    )
    assert (create["Code"], create["Status"]) == ("NotImplemented", 501)
    assert "CreateMonitoringSchedule" in create["Message"]
    for call in (sm.delete_monitoring_schedule, sm.stop_monitoring_schedule):
        refused = _error(call, MonitoringScheduleName="nightly")
        assert (refused["Code"], refused["Status"]) == ("NotImplemented", 501)


def test_other_unbuilt_kinds(server: Server) -> None:
    sm = server.client("sagemaker")
    assert sm.list_processing_jobs(StatusEquals="InProgress")["ProcessingJobSummaries"] == []
    assert sm.list_pipelines()["PipelineSummaries"] == []
    assert _error(sm.describe_processing_job, ProcessingJobName="job")["Code"] == (
        "ResourceNotFound"
    )
    # SageMaker answers ValidationException where the operation declares no ResourceNotFound.
    package = _error(sm.describe_model_package, ModelPackageName="pkg")
    assert package["Code"] == "ValidationException"
    assert package["Message"].startswith("Could not find model package")
    # The children of a resource that cannot exist: the parent is missing.
    executions = _error(sm.list_pipeline_executions, PipelineName="etl")
    assert executions == {
        "Code": "ResourceNotFound",
        "Message": "Pipeline 'etl' does not exist.",
        "Status": 400,
    }


CLEANUP = r"""
import json, sys
import botocore, sagemaker
from sagemaker.predictor import Predictor

session = sagemaker.Session()
sm = session.sagemaker_client
predictor = Predictor(sys.argv[1], sagemaker_session=session)
listed = predictor.list_monitors()
# The SDK integration tests' clean-up helper: every monitor stopped and deleted, then the
# endpoint.
for monitor in listed:
    monitor.stop_monitoring_schedule()
    monitor.delete_monitoring_schedule()
predictor.delete_endpoint()
waiter = sm.get_waiter("endpoint_deleted")
waiter.wait(EndpointName=sys.argv[1], WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
try:
    sm.describe_endpoint(EndpointName=sys.argv[1])
    gone = None
except botocore.exceptions.ClientError as exc:
    gone = [exc.response["Error"]["Code"], exc.response["Error"]["Message"]]
print("RESULT " + json.dumps({"monitors": len(listed), "gone": gone}))
"""


def test_the_sdk_cleanup_deletes_the_endpoint(server: Server, tmp_path: Path) -> None:
    sm = server.client("sagemaker")
    image = register_echo_image(server.home, "echo-unbuilt")
    model = create_model(sm, image)
    name = deploy(sm, [variant(model)])
    config = sm.describe_endpoint(EndpointName=name)["EndpointConfigName"]

    (tmp_path / "cleanup.py").write_text(CLEANUP)
    proc = run_offline(server, tmp_path, f"{sys.executable} cleanup.py {name}", timeout=240)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    assert result["monitors"] == 0
    assert result["gone"][0] == "ValidationException"
    assert "Could not find endpoint" in result["gone"][1]
    # delete_endpoint() took the endpoint's configuration with it.
    assert _error(sm.describe_endpoint_config, EndpointConfigName=config)["Code"] == (
        "ValidationException"
    )
    assert name not in [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    sm.delete_model(ModelName=model)
