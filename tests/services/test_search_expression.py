"""SearchExpression parsing and matching over documents, against botocore's record shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest

from sagebrush.aws.errors import AwsError
from sagebrush.services.sagemaker._search_expr import (
    CONTAINS_LIMIT,
    Kind,
    RecordSchema,
    document_of,
    parse,
    sort_order,
)

MODEL = botocore.session.get_session().get_service_model("sagemaker")
TRAINING = RecordSchema(MODEL.shape_for("TrainingJob"), {"Metrics": Kind.NUMBER})
MODELS = RecordSchema(MODEL.shape_for("ModelDashboardModel"), inner="Model")
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def job(name: str, **extra: Any) -> Any:
    """A training job document as Search builds it: the record, typed, plus Metrics."""
    record: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobStatus": "Completed",
        "CreationTime": T0,
        "EnableNetworkIsolation": False,
        "HyperParameters": {},
        "InputDataConfig": [],
        "Tags": [],
        "FinalMetricDataList": [],
        **extra,
    }
    document = document_of(TRAINING.shape, record)
    document["Metrics"] = {m["MetricName"]: m["Value"] for m in record["FinalMetricDataList"]}
    return document


def metric(name: str, value: float) -> dict[str, Any]:
    return {"MetricName": name, "Value": value, "Timestamp": T0}


def channel(name: str, uri: str) -> dict[str, Any]:
    return {"ChannelName": name, "DataSource": {"S3DataSource": {"S3Uri": uri}}}


def holds(document: Any, *filters: dict[str, Any], **expression: Any) -> bool:
    spec = {"Filters": list(filters), **expression} if filters else expression
    return parse(spec, TRAINING, "TrainingJob").holds(document)


def rejected(spec: dict[str, Any], schema: RecordSchema = TRAINING) -> str:
    with pytest.raises(AwsError) as caught:
        parse(spec, schema, "TrainingJob")
    assert caught.value.code == "ValidationException"
    return caught.value.message


def f(name: str, op: str | None = None, value: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"Name": name}
    if op is not None:
        spec["Operator"] = op
    if value is not None:
        spec["Value"] = value
    return spec


# --- property names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "kind"),
    [
        ("TrainingJobName", ("TrainingJobName",), Kind.TEXT),
        ("trainingjobstatus", ("TrainingJobStatus",), Kind.TEXT),
        ("HyperParameters.max_depth", ("HyperParameters", "max_depth"), Kind.HYPERPARAMETER),
        ("HyperParameters.a.b", ("HyperParameters", "a.b"), Kind.HYPERPARAMETER),
        ("Metrics.validation:auc", ("Metrics", "validation:auc"), Kind.NUMBER),
        ("Tags.team.sub", ("Tags", "team.sub"), Kind.TEXT),
        ("Tags", ("Tags",), Kind.OBJECT),
        (
            "InputDataConfig.DataSource.S3DataSource.S3Uri",
            ("InputDataConfig", "DataSource", "S3DataSource", "S3Uri"),
            Kind.TEXT,
        ),
        ("InputDataConfig", ("InputDataConfig",), Kind.OBJECT),
        ("CreationTime", ("CreationTime",), Kind.TIMESTAMP),
        ("EnableNetworkIsolation", ("EnableNetworkIsolation",), Kind.BOOLEAN),
        ("ResourceConfig.InstanceCount", ("ResourceConfig", "InstanceCount"), Kind.NUMBER),
        ("VpcConfig.Subnets", ("VpcConfig", "Subnets"), Kind.TEXT),
        ("Environment.MODE", ("Environment", "MODE"), Kind.TEXT),
    ],
)
def test_training_job_property_names(name: str, path: tuple[str, ...], kind: Kind) -> None:
    prop = TRAINING.lookup(name)
    assert prop is not None
    assert (prop.path, prop.kind) == (path, kind)


@pytest.mark.parametrize("name", ["Nope", "TrainingJobName.x", "ResourceConfig.Nope"])
def test_unknown_property_names(name: str) -> None:
    assert TRAINING.lookup(name) is None
    assert f"'{name}' is not a valid property name" in rejected({"Filters": [f(name, "Exists")]})


def test_model_names_resolve_inside_the_model_member() -> None:
    assert MODELS.require("Model.ModelName", "Model").path == ("Model", "ModelName")
    assert MODELS.require("ModelName", "Model").path == ("Model", "ModelName")
    assert MODELS.require("Tags.team", "Model").path == ("Model", "Tags", "team")
    endpoint = MODELS.require("Endpoints.EndpointStatus", "Model")
    assert (endpoint.path, endpoint.kind) == (("Endpoints", "EndpointStatus"), Kind.TEXT)


def test_documents_are_typed_by_the_shape() -> None:
    document = job("a", Tags=[{"Key": "team", "Value": "x"}], Unknown=1)
    assert document["CreationTime"] == datetime.fromtimestamp(T0, UTC)
    assert document["Tags"] == {"team": "x"}
    assert "Unknown" not in document


# --- operators ------------------------------------------------------------------------------


def test_metric_comparisons_are_numeric() -> None:
    d = job("a", FinalMetricDataList=[metric("validation:auc", 0.91)])
    assert holds(d, f("Metrics.validation:auc", "GreaterThan", "0.9"))
    assert not holds(d, f("Metrics.validation:auc", "GreaterThan", "0.91"))
    assert holds(d, f("Metrics.validation:auc", "GreaterThanOrEqualTo", "0.91"))
    assert holds(d, f("Metrics.validation:auc", "LessThan", "1"))
    assert holds(d, f("Metrics.validation:auc", "LessThanOrEqualTo", "9.1e-1"))
    assert holds(d, f("Metrics.validation:auc", "Equals", "0.91"))
    # A metric the job never reported matches nothing but NotExists (and NotEquals).
    assert not holds(d, f("Metrics.train:loss", "LessThan", "100"))
    assert holds(d, f("Metrics.train:loss", "NotExists"))
    assert holds(d, f("Metrics.train:loss", "NotEquals", "1"))
    assert holds(d, f("Metrics.validation:auc", "Exists"))


def test_text_operators() -> None:
    d = job("Churn-XGB-001", Tags=[{"Key": "team", "Value": "Risk"}])
    assert holds(d, f("TrainingJobName", "Equals", "Churn-XGB-001"))
    assert not holds(d, f("TrainingJobName", "Equals", "churn-xgb-001"))
    assert holds(d, f("TrainingJobName", "NotEquals", "other"))
    assert holds(d, f("TrainingJobName", "Contains", "xgb"))
    assert holds(d, f("TrainingJobStatus", "In", "Failed, Completed"))
    assert not holds(d, f("TrainingJobStatus", "In", "Failed,Stopped"))
    assert holds(d, f("Tags.team", "Equals", "Risk"))
    assert not holds(d, f("Tags.owner", "Equals", "Risk"))
    assert holds(d, f("Tags.owner", "NotExists"))
    # A Value without an Operator means Equals.
    assert holds(d, f("TrainingJobName", value="Churn-XGB-001"))


def test_hyperparameters_compare_as_numbers_when_both_sides_are() -> None:
    d = job("a", HyperParameters={"max_depth": "10", "eta": "0.3", "objective": "binary:logistic"})
    assert holds(d, f("HyperParameters.max_depth", "GreaterThan", "9"))  # not "10" < "9"
    assert holds(d, f("HyperParameters.max_depth", "Equals", "10.0"))
    assert holds(d, f("HyperParameters.eta", "LessThan", "0.5"))
    assert holds(d, f("HyperParameters.objective", "Equals", "binary:logistic"))
    assert holds(d, f("HyperParameters.objective", "Contains", "logistic"))
    assert not holds(d, f("HyperParameters.objective", "GreaterThan", "1"))
    # An integer Value treats decimal hyperparameters as integers (SageMaker's Filter docs).
    assert holds(d, f("HyperParameters.eta", "Equals", "0"))
    assert not holds(d, f("HyperParameters.eta", "GreaterThan", "0"))


def test_timestamps_take_iso_8601_or_epoch_seconds() -> None:
    d = job("a")
    assert holds(d, f("CreationTime", "GreaterThan", "2023-11-14T22:00:00"))
    assert holds(d, f("CreationTime", "LessThan", "2023-11-14T23:00:00Z"))
    assert holds(d, f("CreationTime", "GreaterThanOrEqualTo", str(int(T0))))
    assert not holds(d, f("CreationTime", "GreaterThan", str(int(T0))))


def test_booleans() -> None:
    d = job("a")
    assert holds(d, f("EnableNetworkIsolation", "Equals", "false"))
    assert holds(d, f("EnableNetworkIsolation", "NotEquals", "TRUE"))


def test_lists_match_on_any_element_and_nested_filters_on_one() -> None:
    d = job(
        "a",
        InputDataConfig=[
            channel("train", "s3://bucket/cats/train"),
            channel("validation", "s3://bucket/dogs/validation"),
        ],
    )
    assert holds(d, f("InputDataConfig.ChannelName", "Equals", "validation"))
    assert holds(d, f("InputDataConfig.DataSource.S3DataSource.S3Uri", "Contains", "cats"))

    def nested(name: str, uri: str) -> bool:
        spec = {
            "NestedPropertyName": "InputDataConfig",
            "Filters": [
                f("InputDataConfig.ChannelName", "Equals", name),
                f("InputDataConfig.DataSource.S3DataSource.S3Uri", "Contains", uri),
            ],
        }
        return holds(d, NestedFilters=[spec])

    assert nested("train", "cats")
    assert not nested("train", "dogs")  # both true of the job, never of one channel


def test_and_or_and_subexpressions() -> None:
    d = job("a", TrainingJobStatus="Failed", HyperParameters={"eta": "0.1"})
    failed = f("TrainingJobStatus", "Equals", "Failed")
    completed = f("TrainingJobStatus", "Equals", "Completed")
    assert not holds(d, failed, completed)
    assert holds(d, failed, completed, Operator="Or")
    spec = {
        "Filters": [f("HyperParameters.eta", "LessThan", "0.5")],
        "SubExpressions": [{"Filters": [completed, failed], "Operator": "Or"}],
    }
    assert holds(d, **spec)
    spec["SubExpressions"] = [{"Filters": [completed]}]
    assert not holds(d, **spec)


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (f("TrainingJobName", "GreaterThan", "a"), "not supported for the text property"),
        (f("Metrics.auc", "Contains", "1"), "not supported for the numeric property"),
        (f("Metrics.auc", "In", "1,2"), "not supported for the numeric property"),
        (f("Metrics.auc", "GreaterThan", "high"), "'high' is not a numeric value"),
        (f("HyperParameters.eta", "LessThan", "low"), "'low' is not a numeric value"),
        (f("CreationTime", "GreaterThan", "yesterday"), "is not a timestamp"),
        (f("EnableNetworkIsolation", "Equals", "yes"), "is not a Boolean value"),
        (f("EnableNetworkIsolation", "LessThan", "true"), "not supported for the Boolean"),
        (f("InputDataConfig", "Equals", "x"), "is a list or structure"),
        (f("TrainingJobName"), "needs an Operator or a Value"),
        (f("TrainingJobName", "Equals"), "needs a Value"),
    ],
)
def test_bad_filters_are_validation_errors(spec: dict[str, Any], message: str) -> None:
    assert message in rejected({"Filters": [spec]})


def test_one_contains_per_expression() -> None:
    once = f("TrainingJobName", "Contains", "a")
    assert rejected({"Filters": [once], "SubExpressions": [{"Filters": [once]}]}) == (
        CONTAINS_LIMIT
    )


def test_at_most_fifty_elements() -> None:
    filters = [f("TrainingJobName", "Equals", str(i)) for i in range(20)]
    spec = {"Filters": filters, "SubExpressions": [{"Filters": filters}]}
    parse(spec, TRAINING, "TrainingJob")  # 20 + 1 + 20
    spec["SubExpressions"].append({"Filters": filters[:9]})
    assert "the maximum is 50" in rejected(spec)


def test_expressions_must_say_something() -> None:
    assert "at least one of Filters" in rejected({"Operator": "Or"})
    assert "at least one of Filters" in rejected({"SubExpressions": [{}]})


def test_nested_filters_name_properties_below_the_nested_one() -> None:
    message = rejected(
        {
            "NestedFilters": [
                {
                    "NestedPropertyName": "InputDataConfig",
                    "Filters": [f("TrainingJobName", "Equals", "a")],
                }
            ]
        }
    )
    assert "must start with its NestedPropertyName 'InputDataConfig.'" in message
    message = rejected(
        {
            "NestedFilters": [
                {
                    "NestedPropertyName": "TrainingJobName",
                    "Filters": [f("TrainingJobName", "Exists")],
                }
            ]
        }
    )
    assert "must name a list or structure property" in message


# --- sorting --------------------------------------------------------------------------------


def test_sorting_numbers_with_missing_values_last_either_way() -> None:
    docs = [
        job("low", FinalMetricDataList=[metric("auc", 0.5)]),
        job("none"),
        job("high", FinalMetricDataList=[metric("auc", 0.9)]),
        job("mid", FinalMetricDataList=[metric("auc", 0.7)]),
    ]
    prop = TRAINING.require("Metrics.auc", "TrainingJob")
    names = [docs[i]["TrainingJobName"] for i in sort_order(docs, prop, descending=True)]
    assert names == ["high", "mid", "low", "none"]
    names = [docs[i]["TrainingJobName"] for i in sort_order(docs, prop, descending=False)]
    assert names == ["low", "mid", "high", "none"]


def test_sorting_hyperparameters_numbers_first_then_text() -> None:
    docs = [job(str(i), HyperParameters={"x": v}) for i, v in enumerate(["10", "9", "abc", "0.5"])]
    prop = TRAINING.require("HyperParameters.x", "TrainingJob")
    assert sort_order(docs, prop, descending=False) == [3, 1, 0, 2]


def test_sorting_a_list_property_uses_its_extreme_value() -> None:
    docs = [
        job("a", InputDataConfig=[channel("b", "s3://x"), channel("y", "s3://x")]),
        job("b", InputDataConfig=[channel("c", "s3://x")]),
    ]
    prop = TRAINING.require("InputDataConfig.ChannelName", "TrainingJob")
    assert sort_order(docs, prop, descending=False) == [0, 1]  # "b" < "c"
    assert sort_order(docs, prop, descending=True) == [0, 1]  # "y" > "c"


def test_sorting_on_a_structure_is_refused() -> None:
    prop = TRAINING.require("InputDataConfig", "TrainingJob")
    with pytest.raises(AwsError, match="cannot be sorted"):
        sort_order([job("a")], prop, descending=True)
