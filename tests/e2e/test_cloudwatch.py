"""CloudWatch metrics through real clients: boto3 (JSON 1.0), a query-protocol botocore
client, and the sagemaker SDK's TrainingJobAnalytics reader."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import ClientError

from sagebrush.testing import Server

# Ten minutes ago, on the minute: recent enough for PutMetricData's two-week limit.
BASE = datetime.fromtimestamp((int(time.time()) // 60 - 10) * 60, UTC)


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


@pytest.fixture
def cw(server: Server) -> Any:
    return server.client("cloudwatch")


@pytest.fixture
def ns() -> str:
    return f"Test/{uuid.uuid4().hex[:8]}"


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def put_values(cw: Any, ns: str, name: str, pairs: list[tuple[float, float]], **extra: Any) -> None:
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[
            {"MetricName": name, "Timestamp": at(s), "Value": v, **extra} for s, v in pairs
        ],
    )


def test_put_then_get_metric_statistics(cw: Any, ns: str) -> None:
    dims = [{"Name": "Host", "Value": "a"}, {"Name": "Env", "Value": "prod"}]
    put_values(cw, ns, "Latency", [(0, 1), (20, 3), (65, 10)], Dimensions=dims, Unit="Seconds")
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": dims[::-1],  # order does not make a new metric
                "Timestamp": at(70),
                "StatisticValues": {"SampleCount": 4, "Sum": 20, "Minimum": 2, "Maximum": 8},
                "Unit": "Seconds",
            }
        ],
    )
    reply = cw.get_metric_statistics(
        Namespace=ns,
        MetricName="Latency",
        Dimensions=dims,
        StartTime=at(0),
        EndTime=at(180),
        Period=60,
        Statistics=["Average", "Sum", "SampleCount", "Minimum", "Maximum"],
    )
    assert reply["Label"] == "Latency"
    points = sorted(reply["Datapoints"], key=lambda p: p["Timestamp"])
    assert [p["Timestamp"] for p in points] == [at(0), at(60)]
    assert points[0] == {
        "Timestamp": at(0),
        "Average": 2.0,
        "Sum": 4.0,
        "SampleCount": 2.0,
        "Minimum": 1.0,
        "Maximum": 3.0,
        "Unit": "Seconds",
    }
    assert (points[1]["SampleCount"], points[1]["Sum"], points[1]["Average"]) == (5.0, 30.0, 6.0)
    # Dimensions must match exactly; a Unit that was never sent matches nothing.
    for kwargs in ({"Dimensions": dims[:1]}, {"Dimensions": dims, "Unit": "Count"}):
        empty = cw.get_metric_statistics(
            Namespace=ns,
            MetricName="Latency",
            StartTime=at(0),
            EndTime=at(180),
            Period=60,
            Statistics=["Sum"],
            **kwargs,
        )
        assert empty["Datapoints"] == []


def test_extended_statistics_and_high_resolution(cw: Any, ns: str) -> None:
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[
            {
                "MetricName": "Size",
                "Timestamp": at(5),
                "Values": [float(v) for v in range(1, 101)],
                "Counts": [1.0] * 100,
                "StorageResolution": 1,
            }
        ],
    )
    reply = cw.get_metric_statistics(
        Namespace=ns,
        MetricName="Size",
        StartTime=at(0),
        EndTime=at(60),
        Period=10,
        ExtendedStatistics=["p50", "p99", "p99.9"],
    )
    [point] = reply["Datapoints"]
    assert point["Timestamp"] == at(0)
    assert point["ExtendedStatistics"] == {"p50": 50.0, "p99": 99.0, "p99.9": 100.0}
    assert point["Unit"] == "None"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"Statistics": ["Sum"], "ExtendedStatistics": ["p90"]}, "InvalidParameterCombination"),
        ({}, "InvalidParameterCombination"),
        ({"Statistics": ["Sum"], "Period": 90}, "InvalidParameterValue"),
        ({"Statistics": ["Sum"], "Period": 1, "EndTime": BASE + timedelta(hours=1)}, None),
        ({"Statistics": ["Sum"], "Period": 1, "EndTime": BASE + timedelta(hours=2)}, "x"),
        ({"ExtendedStatistics": ["p101"]}, "InvalidParameterValue"),
        ({"Statistics": ["Sum"], "EndTime": BASE}, "InvalidParameterValue"),
    ],
)
def test_get_metric_statistics_errors(
    cw: Any, ns: str, kwargs: dict[str, Any], expected: str | None
) -> None:
    request = {
        "Namespace": ns,
        "MetricName": "m",
        "StartTime": BASE,
        "EndTime": BASE + timedelta(minutes=5),
        "Period": 60,
        **kwargs,
    }
    if expected is None:  # 3600 one-second periods: over 1,440
        with pytest.raises(ClientError) as error:
            cw.get_metric_statistics(**request)
        assert code(error) == "InvalidParameterCombination"
        assert "exceeds the limit of 1,440" in error.value.response["Error"]["Message"]
        return
    if expected == "x":
        request["EndTime"] = BASE + timedelta(minutes=24)  # 1,440 periods exactly: fine
        assert cw.get_metric_statistics(**request)["Datapoints"] == []
        return
    with pytest.raises(ClientError) as error:
        cw.get_metric_statistics(**request)
    assert code(error) == expected


@pytest.mark.parametrize(
    ("datum", "expected"),
    [
        (
            {
                "Value": 1,
                "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1},
            },
            "InvalidParameterCombination",
        ),
        ({"Value": 1, "Values": [1.0]}, "InvalidParameterCombination"),
        ({"Values": [1.0, 2.0], "Counts": [1.0]}, "InvalidParameterValue"),
        ({"Values": [1.0] * 151}, "InvalidParameterValue"),
        ({"Value": 1, "StorageResolution": 30}, "InvalidParameterValue"),
        (
            {"Value": 1, "Timestamp": datetime.now(UTC) - timedelta(days=15)},
            "InvalidParameterValue",
        ),
        (
            {"Value": 1, "Timestamp": datetime.now(UTC) + timedelta(hours=3)},
            "InvalidParameterValue",
        ),
        ({"Value": 2.0**400}, "InvalidParameterValue"),
        ({}, "MissingParameter"),
    ],
)
def test_put_metric_data_limits(cw: Any, ns: str, datum: dict[str, Any], expected: str) -> None:
    with pytest.raises(ClientError) as error:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", **datum}])
    assert code(error) == expected
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_put_metric_data_rejects_aws_namespaces_and_oversized_batches(cw: Any) -> None:
    with pytest.raises(ClientError) as error:
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1}])
    assert code(error) == "InvalidParameterValue"
    with pytest.raises(ClientError) as error:
        cw.put_metric_data(
            Namespace="Test/big", MetricData=[{"MetricName": "m", "Value": 1}] * 1001
        )
    assert code(error) == "InvalidParameterValue"


def test_large_batches_arrive_gzip_compressed(cw: Any, query_cw: Any, ns: str) -> None:
    sent: list[str] = []
    for client in (cw, query_cw):
        client.meta.events.register(
            "before-send.cloudwatch.PutMetricData",
            lambda request, **_: sent.append(request.headers.get("Content-Encoding", "")),
        )
        data = [{"MetricName": "big", "Timestamp": at(1), "Value": 1.0}] * 1000
        client.put_metric_data(Namespace=ns, MetricData=data)
    assert sent == [b"gzip", b"gzip"]
    reply = cw.get_metric_statistics(
        Namespace=ns,
        MetricName="big",
        StartTime=at(0),
        EndTime=at(60),
        Period=60,
        Statistics=["SampleCount"],
    )
    assert reply["Datapoints"][0]["SampleCount"] == 2000.0


def test_get_metric_data_orders_and_paginates(cw: Any, ns: str) -> None:
    put_values(cw, ns, "a", [(0, 1), (60, 2), (120, 3), (180, 4)])
    put_values(cw, ns, "b", [(0, 10), (70, 20)])

    def query(qid: str, name: str, stat: str = "Sum", **extra: Any) -> dict[str, Any]:
        metric = {"Namespace": ns, "MetricName": name}
        return {"Id": qid, "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat}, **extra}

    queries = [
        query("qa", "a"),
        query("qb", "b", "Maximum", Label="B max"),
        query("hidden", "a", ReturnData=False),
    ]
    reply = cw.get_metric_data(MetricDataQueries=queries, StartTime=at(0), EndTime=at(240))
    results = {r["Id"]: r for r in reply["MetricDataResults"]}
    assert set(results) == {"qa", "qb"}
    assert results["qa"]["Timestamps"] == [at(180), at(120), at(60), at(0)]  # newest first
    assert results["qa"]["Values"] == [4.0, 3.0, 2.0, 1.0]
    assert results["qa"]["Label"] == "a"
    assert results["qb"]["Label"] == "B max"
    assert results["qb"]["StatusCode"] == "Complete"
    assert "NextToken" not in reply

    seen: dict[str, list[float]] = {"qa": [], "qb": []}
    token = None
    pages = 0
    while True:
        extra = {"NextToken": token} if token else {}
        page = cw.get_metric_data(
            MetricDataQueries=queries[:2],
            StartTime=at(0),
            EndTime=at(240),
            ScanBy="TimestampAscending",
            MaxDatapoints=4,
            **extra,
        )
        pages += 1
        for result in page["MetricDataResults"]:
            seen[result["Id"]].extend(result["Values"])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 2
    assert seen == {"qa": [1.0, 2.0, 3.0, 4.0], "qb": [10.0, 20.0]}


def test_get_metric_data_refuses_expressions_clearly(cw: Any) -> None:
    with pytest.raises(ClientError) as error:
        cw.get_metric_data(
            MetricDataQueries=[{"Id": "e1", "Expression": "SUM(METRICS())"}],
            StartTime=at(0),
            EndTime=at(60),
        )
    assert code(error) == "NotImplemented"
    assert "expression" in error.value.response["Error"]["Message"]


def test_list_metrics_filters_and_pages(cw: Any, ns: str) -> None:
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[
            {"MetricName": "cpu", "Value": 1, "Dimensions": [{"Name": "Host", "Value": f"h{i}"}]}
            for i in range(520)
        ]
        + [{"MetricName": "mem", "Value": 1, "Unit": u} for u in ("Bytes", "Megabytes")],
    )
    paginator = cw.get_paginator("list_metrics")
    pages = list(paginator.paginate(Namespace=ns))
    assert [len(p["Metrics"]) for p in pages] == [500, 21]
    metrics = [m for p in pages for m in p["Metrics"]]
    assert sum(m["MetricName"] == "mem" for m in metrics) == 1  # units fold into one metric
    by_name = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host"}], MetricName="cpu")
    assert len(by_name["Metrics"]) == 500 and "NextToken" in by_name
    one = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "h7"}])
    assert one["Metrics"] == [
        {"Namespace": ns, "MetricName": "cpu", "Dimensions": [{"Name": "Host", "Value": "h7"}]}
    ]
    recent = cw.list_metrics(Namespace=ns, MetricName="mem", RecentlyActive="PT3H")
    assert len(recent["Metrics"]) == 1
    with pytest.raises(ClientError) as error:
        cw.list_metrics(NextToken="garbage")
    assert code(error) == "InvalidParameterValue"


def test_alarms_stay_not_implemented(cw: Any) -> None:
    with pytest.raises(ClientError) as error:
        cw.describe_alarms()
    assert code(error) == "NotImplemented"


@pytest.fixture
def query_cw(server: Server, tmp_path: Path) -> Iterator[Any]:
    """A botocore client that speaks awsQuery, as older botocore and AWS CLI v1 do."""
    model = copy.deepcopy(botocore.loaders.Loader().load_service_model("cloudwatch", "service-2"))
    model["metadata"]["protocol"] = "query"
    model["metadata"]["protocols"] = ["query"]
    folder = tmp_path / "models" / "cloudwatch" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path / "models"))
    client = session.create_client(
        "cloudwatch",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="sagebrush",
        aws_secret_access_key="sagebrush-secret",
    )
    assert client.meta.service_model.protocol == "query"
    yield client
    client.close()


def test_query_protocol_round_trip(query_cw: Any, cw: Any, ns: str) -> None:
    sent: list[bytes] = []
    query_cw.meta.events.register(
        "before-send.cloudwatch.*", lambda request, **_: sent.append(request.body)
    )
    dims = [{"Name": "TrainingJobName", "Value": "job-1"}]
    query_cw.put_metric_data(
        Namespace=ns,
        MetricData=[
            {"MetricName": "loss", "Dimensions": dims, "Timestamp": at(1), "Value": 0.5},
            {"MetricName": "loss", "Dimensions": dims, "Timestamp": at(2), "Value": 0.25},
        ],
    )
    assert sent[0].startswith(b"Action=PutMetricData&Version=2010-08-01")
    reply = query_cw.get_metric_statistics(
        Namespace=ns,
        MetricName="loss",
        Dimensions=dims,
        StartTime=at(0),
        EndTime=at(60),
        Period=60,
        Statistics=["Average", "Maximum"],
    )
    assert reply["Label"] == "loss"
    assert reply["Datapoints"] == [
        {"Timestamp": at(0), "Average": 0.375, "Maximum": 0.5, "Unit": "None"}
    ]
    extended = query_cw.get_metric_statistics(
        Namespace=ns,
        MetricName="loss",
        Dimensions=dims,
        StartTime=at(0),
        EndTime=at(60),
        Period=60,
        ExtendedStatistics=["p50"],
    )
    assert extended["Datapoints"][0]["ExtendedStatistics"] == {"p50": 0.25}
    listed = query_cw.list_metrics(Namespace=ns)
    assert listed["Metrics"] == [{"Namespace": ns, "MetricName": "loss", "Dimensions": dims}]
    data = query_cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "l",
                "MetricStat": {
                    "Metric": {"Namespace": ns, "MetricName": "loss", "Dimensions": dims},
                    "Period": 60,
                    "Stat": "Minimum",
                },
            }
        ],
        StartTime=at(0),
        EndTime=at(60),
    )
    assert data["MetricDataResults"][0]["Values"] == [0.25]
    with pytest.raises(ClientError) as error:
        query_cw.get_metric_statistics(
            Namespace=ns, MetricName="loss", StartTime=at(0), EndTime=at(60), Period=60
        )
    assert code(error) == "InvalidParameterCombination"
    # What one protocol wrote, the other reads.
    assert cw.list_metrics(Namespace=ns)["Metrics"] == listed["Metrics"]


def test_sagemaker_training_job_analytics_reads_training_metrics(
    server: Server, cw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = f"job-{uuid.uuid4().hex[:8]}"
    dims = [{"Name": "TrainingJobName", "Value": job}]
    namespace = "/aws/sagemaker/TrainingJobs"
    losses = [(0, 0.9), (30, 0.7), (60, 0.5), (125, 0.2)]
    put_values(cw, namespace, "train:loss", losses, Dimensions=dims)
    start, end = at(0), at(180) + timedelta(minutes=1)

    # Exactly the request TrainingJobAnalytics._fetch_metric sends.
    raw = cw.get_metric_statistics(
        Namespace=namespace,
        MetricName="train:loss",
        Dimensions=dims,
        StartTime=start,
        EndTime=end,
        Period=60,
        Statistics=["Average"],
    )["Datapoints"]
    assert sorted((p["Timestamp"], p["Average"]) for p in raw) == [
        (at(0), pytest.approx(0.8)),
        (at(60), 0.5),
        (at(120), 0.2),
    ]

    # And the SDK's own reader over it, minus the DescribeTrainingJob that finds the times.
    import boto3
    import sagemaker
    from sagemaker.analytics import TrainingJobAnalytics

    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setattr(
        TrainingJobAnalytics,
        "_determine_timeinterval",
        lambda self: {"start_time": start, "end_time": end},
    )
    boto_session = boto3.Session(
        aws_access_key_id="sagebrush",
        aws_secret_access_key="sagebrush-secret",
        region_name="us-east-1",
    )
    session = sagemaker.Session(boto_session=boto_session)
    frame = TrainingJobAnalytics(job, metric_names=["train:loss"], sagemaker_session=session)
    table = frame.dataframe()
    assert list(table["timestamp"]) == [0.0, 60.0, 120.0]
    assert list(table["value"]) == [pytest.approx(0.8), 0.5, 0.2]
    assert set(table["metric_name"]) == {"train:loss"}
