"""Search through boto3: training jobs by metrics, hyperparameters, tags and channels;
endpoints and models; paging and errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest

from sagebrush.testing import Server, start_server
from tests.e2e._endpoints import create_model, deploy, register_echo_image, stop_server, variant

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
WAIT = {"Delay": 1, "MaxAttempts": 120}

# Reports the AUC its hyperparameters ask for, the way an algorithm logs its metrics.
TRAIN = """\
#!/usr/bin/env python3
import json
hp = json.load(open("/opt/ml/input/config/hyperparameters.json"))
print(f"validation:auc={hp['auc']};", flush=True)
open("/opt/ml/model/model.txt", "w").write("ok")
"""

# name: (auc, max_depth, team tag or None, [(channel, S3 prefix)])
JOBS = {
    "best": ("0.91", "8", "risk", [("train", "cats")]),
    "mixed": ("0.75", "4", "growth", [("train", "dogs"), ("validation", "cats")]),
    "good": ("0.85", "6", "risk", [("train", "dogs")]),
    "weak": ("0.6", "10", None, [("train", "cats")]),
}


def _job(name: str) -> dict[str, Any]:
    auc, depth, team, channels = JOBS[name]
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "search-algo:latest",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "validation:auc", "Regex": r"validation:auc=(.*?);"}],
        },
        "RoleArn": ROLE,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://data/{prefix}/"}
                },
            }
            for channel, prefix in channels
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://data/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "HyperParameters": {"auc": auc, "max_depth": depth},
    }
    if team:
        request["Tags"] = [{"Key": "team", "Value": team}]
    return request


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("search-home")
    image = home / "images" / "search-algo"
    image.mkdir(parents=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)
    register_echo_image(home)
    server = start_server(home)
    s3, sm = server.client("s3"), server.client("sagemaker")
    s3.create_bucket(Bucket="data")
    for prefix in ("cats", "dogs"):
        s3.put_object(Bucket="data", Key=f"{prefix}/rows.txt", Body=b"1\n")
    for name in JOBS:
        sm.create_training_job(**_job(name))
    waiter = sm.get_waiter("training_job_completed_or_stopped")
    for name in JOBS:
        waiter.wait(TrainingJobName=name, WaiterConfig=WAIT)
        job = sm.describe_training_job(TrainingJobName=name)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    yield server
    stop_server(server)


@pytest.fixture
def sm(srv: Server) -> Any:
    return srv.client("sagemaker")


def _names(response: dict[str, Any], member: str = "TrainingJob") -> list[str]:
    return [r[member][f"{member}Name"] for r in response["Results"]]


def _search(sm: Any, *filters: dict[str, Any], **request: Any) -> dict[str, Any]:
    if filters:
        request["SearchExpression"] = {"Filters": list(filters)}
    return sm.search(Resource="TrainingJob", **request)  # type: ignore[no-any-return]


def _error(sm: Any, **request: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sm.search(**request)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(caught.value.response["Error"]["Message"])


def test_jobs_with_a_metric_above_a_value_sorted_by_it(sm: Any) -> None:
    response = _search(
        sm,
        {"Name": "Metrics.validation:auc", "Operator": "GreaterThan", "Value": "0.8"},
        SortBy="Metrics.validation:auc",
        SortOrder="Descending",
    )
    assert _names(response) == ["best", "good"]
    assert response["TotalHits"] == {"Value": 2, "Relation": "EqualTo"}
    assert "NextToken" not in response
    best = response["Results"][0]["TrainingJob"]
    assert [(m["MetricName"], m["Value"]) for m in best["FinalMetricDataList"]] == [
        ("validation:auc", 0.91)
    ]
    # The record is DescribeTrainingJob's view plus the tags.
    described = sm.describe_training_job(TrainingJobName="best")
    for member in ("TrainingJobArn", "HyperParameters", "InputDataConfig", "ModelArtifacts"):
        assert best[member] == described[member]
    assert [t["Status"] for t in best["SecondaryStatusTransitions"]] == [
        t["Status"] for t in described["SecondaryStatusTransitions"]
    ]
    assert best["Tags"] == [{"Key": "team", "Value": "risk"}]
    ascending = _search(sm, SortBy="Metrics.validation:auc", SortOrder="Ascending")
    assert _names(ascending) == ["weak", "mixed", "good", "best"]


def test_hyperparameters_compare_as_numbers(sm: Any) -> None:
    response = _search(
        sm,
        {"Name": "HyperParameters.max_depth", "Operator": "GreaterThanOrEqualTo", "Value": "6"},
        SortBy="HyperParameters.max_depth",
        SortOrder="Ascending",
    )
    assert _names(response) == ["good", "best", "weak"]


def test_tags_names_statuses_and_times(sm: Any) -> None:
    risk = _search(sm, {"Name": "Tags.team", "Operator": "Equals", "Value": "risk"})
    assert sorted(_names(risk)) == ["best", "good"]
    untagged = _search(sm, {"Name": "Tags.team", "Operator": "NotExists"})
    assert _names(untagged) == ["weak"]
    both = _search(
        sm,
        {"Name": "TrainingJobStatus", "Operator": "Equals", "Value": "Completed"},
        {"Name": "TrainingJobName", "Operator": "In", "Value": "best,weak,nope"},
        {"Name": "CreationTime", "Operator": "GreaterThan", "Value": "2020-01-01T00:00:00"},
        SortBy="TrainingJobName",
        SortOrder="Ascending",
    )
    assert _names(both) == ["best", "weak"]


def test_nested_filters_match_within_one_channel(sm: Any) -> None:
    train = {"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": "train"}
    cats = {
        "Name": "InputDataConfig.DataSource.S3DataSource.S3Uri",
        "Operator": "Contains",
        "Value": "data/cats",
    }
    anywhere = _search(sm, train, cats)
    assert sorted(_names(anywhere)) == ["best", "mixed", "weak"]
    nested = sm.search(
        Resource="TrainingJob",
        SearchExpression={
            "NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [train, cats]}]
        },
    )
    assert sorted(_names(nested)) == ["best", "weak"]


def test_or_of_subexpressions(sm: Any) -> None:
    response = sm.search(
        Resource="TrainingJob",
        SearchExpression={
            "Operator": "Or",
            "SubExpressions": [
                {"Filters": [{"Name": "Tags.team", "Operator": "Equals", "Value": "growth"}]},
                {
                    "Filters": [
                        {"Name": "Metrics.validation:auc", "Operator": "LessThan", "Value": "0.7"}
                    ]
                },
            ],
        },
        SortBy="TrainingJobName",
        SortOrder="Ascending",
    )
    assert _names(response) == ["mixed", "weak"]


def test_paging_one_at_a_time(sm: Any) -> None:
    request = {"SortBy": "TrainingJobName", "SortOrder": "Ascending", "MaxResults": 1}
    names: list[str] = []
    token = None
    while True:
        page = _search(sm, **request, **({"NextToken": token} if token else {}))
        assert len(page["Results"]) == 1
        assert page["TotalHits"]["Value"] == 4
        names += _names(page)
        token = page.get("NextToken")
        if token is None:
            break
    assert names == ["best", "good", "mixed", "weak"]
    paged = sm.get_paginator("search").paginate(
        Resource="TrainingJob", SortBy="TrainingJobName", PaginationConfig={"PageSize": 3}
    )
    assert [len(p["Results"]) for p in paged] == [3, 1]
    first = _search(sm, **request)
    message = _error(
        sm, Resource="TrainingJob", SortBy="CreationTime", NextToken=first["NextToken"]
    )
    assert "Invalid pagination token" in message


def test_default_order_is_last_modified_descending(sm: Any) -> None:
    response = _search(sm)
    times = [r["TrainingJob"]["LastModifiedTime"] for r in response["Results"]]
    assert len(times) == 4
    assert times == sorted(times, reverse=True)


def test_endpoints_and_models(sm: Any) -> None:
    model = create_model(sm, "echo:latest", name="search-model")
    sm.add_tags(
        ResourceArn=sm.describe_model(ModelName=model)["ModelArn"],
        Tags=[{"Key": "stage", "Value": "prod"}],
    )
    endpoint = deploy(sm, [variant(model)], name="search-endpoint")
    found = sm.search(
        Resource="Endpoint",
        SearchExpression={
            "Filters": [{"Name": "EndpointStatus", "Operator": "Equals", "Value": "InService"}]
        },
    )
    assert _names(found, "Endpoint") == [endpoint]
    record = found["Results"][0]["Endpoint"]
    assert (
        record["EndpointConfigName"]
        == sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    )
    assert record["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    assert record["Tags"] == []

    models = sm.search(
        Resource="Model",
        SearchExpression={
            "Filters": [
                {"Name": "Model.ModelName", "Operator": "Equals", "Value": model},
                {"Name": "Tags.stage", "Operator": "Equals", "Value": "prod"},
            ]
        },
    )
    [result] = models["Results"]
    assert result["Model"]["Model"]["ModelName"] == model
    assert result["Model"]["Model"]["Tags"] == [{"Key": "stage", "Value": "prod"}]
    assert [e["EndpointName"] for e in result["Model"]["Endpoints"]] == [endpoint]
    serving = sm.search(
        Resource="Model",
        SearchExpression={
            "Filters": [{"Name": "Endpoints.EndpointName", "Operator": "Equals", "Value": "x"}]
        },
    )
    assert serving["Results"] == []


def test_cross_account_search_finds_nothing(sm: Any) -> None:
    response = _search(sm, CrossAccountFilterOption="CrossAccount")
    assert response["Results"] == []
    assert response["TotalHits"]["Value"] == 0


def test_visibility_conditions_hide_other_tag_values(sm: Any) -> None:
    response = _search(
        sm,
        VisibilityConditions=[{"Key": "Tags.team", "Value": "risk"}],
        SortBy="TrainingJobName",
        SortOrder="Ascending",
    )
    assert _names(response) == ["best", "good", "weak"]  # "mixed" is team growth


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"Resource": "ExperimentTrialComponent"}, "not supported by this version of Sagebrush"),
        ({"Resource": "Pipeline"}, "not supported by this version of Sagebrush"),
        (
            {"Filters": [{"Name": "TrainingJobName", "Operator": "GreaterThan", "Value": "a"}]},
            "The GreaterThan operator is not supported for the text property",
        ),
        (
            {"Filters": [{"Name": "Metrics.auc", "Operator": "GreaterThan", "Value": "high"}]},
            "'high' is not a numeric value",
        ),
        (
            {"Filters": [{"Name": "NoSuchThing", "Operator": "Exists"}]},
            "'NoSuchThing' is not a valid property name for the TrainingJob resource",
        ),
        (
            {
                "Filters": [
                    {"Name": "TrainingJobName", "Operator": "Contains", "Value": "a"},
                    {"Name": "Tags.team", "Operator": "Contains", "Value": "r"},
                ]
            },
            "'CONTAINS' operator usage limit of 1 exceeded.",
        ),
        ({"SortBy": "InputDataConfig"}, "cannot be sorted"),
        ({"NextToken": "not-a-token"}, "Invalid pagination token"),
    ],
)
def test_errors(sm: Any, request_: dict[str, Any], message: str) -> None:
    request = {"Resource": "TrainingJob", **request_}
    if "Filters" in request:
        request["SearchExpression"] = {"Filters": request.pop("Filters")}
    assert message in _error(sm, **request)


def test_tuning_jobs_and_their_training_jobs(srv: Server) -> None:
    # Another region, so the tuning job's children stay out of the other tests' results.
    sm = boto3.client(
        "sagemaker",
        endpoint_url=srv.url,
        region_name="us-west-2",
        aws_access_key_id="sagebrush",
        aws_secret_access_key="sagebrush-secret",
    )
    definition = _job("best")
    for member in ("TrainingJobName", "HyperParameters", "Tags"):
        definition.pop(member)
    definition["StaticHyperParameters"] = {"max_depth": "5"}
    arn = sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="search-tuning",
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
            },
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "auc", "MinValue": "0.5", "MaxValue": "1"}]
            },
        },
        TrainingJobDefinition=definition,
        Tags=[{"Key": "team", "Value": "risk"}],
    )["HyperParameterTuningJobArn"]
    deadline = time.monotonic() + 120
    while (
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="search-tuning")[
            "HyperParameterTuningJobStatus"
        ]
        == "InProgress"
    ):
        assert time.monotonic() < deadline, "the tuning job did not finish"
        time.sleep(0.5)
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="search-tuning")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    best = described["BestTrainingJob"]

    tuning = sm.search(
        Resource="HyperParameterTuningJob",
        SearchExpression={
            "Filters": [
                {
                    "Name": "HyperParameterTuningJobStatus",
                    "Operator": "Equals",
                    "Value": "Completed",
                },
                {
                    "Name": "BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value",
                    "Operator": "GreaterThanOrEqualTo",
                    "Value": "0.5",
                },
                {"Name": "Tags.team", "Operator": "Equals", "Value": "risk"},
            ]
        },
    )
    [record] = [r["HyperParameterTuningJob"] for r in tuning["Results"]]
    assert record["HyperParameterTuningJobArn"] == arn
    assert record["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert record["TrainingJobStatusCounters"]["Completed"] == 2
    assert record["Tags"] == [{"Key": "team", "Value": "risk"}]

    children = sm.search(
        Resource="TrainingJob",
        SearchExpression={
            "Filters": [{"Name": "TuningJobArn", "Operator": "Equals", "Value": arn}]
        },
        SortBy="Metrics.validation:auc",
    )
    assert len(children["Results"]) == 2
    assert children["Results"][0]["TrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
