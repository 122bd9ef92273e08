"""CloudWatch Logs through boto3 and the sagemaker SDK's own log-tailing code."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import sagemaker.logs
from botocore.exceptions import ClientError
from sagemaker.session import _flush_log_streams

from sagebrush.testing import Server


def now_ms() -> int:
    return int(time.time() * 1000)


def new_group(logs: Any, prefix: str = "/test/") -> str:
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    logs.create_log_group(logGroupName=name)
    return name


def put(logs: Any, group: str, stream: str, events: list[tuple[int, str]]) -> dict[str, Any]:
    result: dict[str, Any] = logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": m} for ts, m in events],
    )
    return result


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    error = info.value.response["Error"]
    return (
        error["Code"],
        error["Message"],
        info.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )


@pytest.fixture
def logs(server: Server) -> Any:
    return server.client("logs")


def test_put_then_get_pages_until_an_empty_page(logs: Any) -> None:
    group = new_group(logs)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    t0 = now_ms() - 60_000
    first = put(logs, group, "s", [(t0 + i, f"line {i}") for i in range(250)])
    assert len(first["nextSequenceToken"]) == 56 and "rejectedLogEventsInfo" not in first
    seen: list[str] = []
    token = None
    pages = 0
    while True:  # the sagemaker SDK's loop: follow nextForwardToken until a page is empty
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(
            logGroupName=group, logStreamName="s", startFromHead=True, limit=100, **kwargs
        )
        pages += 1
        assert page["nextForwardToken"].startswith("f/")
        assert page["nextBackwardToken"].startswith("b/")
        if not page["events"]:
            assert page["nextForwardToken"] == token  # the end: same token back
            break
        seen += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
    assert seen == [f"line {i}" for i in range(250)]
    assert pages == 4
    # More events arrive; the saved token picks up exactly the new ones.
    put(logs, group, "s", [(t0 + 1000, "late one")])
    page = logs.get_log_events(logGroupName=group, logStreamName="s", nextToken=token)
    assert [e["message"] for e in page["events"]] == ["late one"]
    assert page["events"][0]["ingestionTime"] >= t0


def test_get_from_the_tail_and_backward(logs: Any) -> None:
    group = new_group(logs)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    t0 = now_ms() - 60_000
    put(logs, group, "s", [(t0 + i, str(i)) for i in range(30)])
    tail = logs.get_log_events(logGroupName=group, logStreamName="s", limit=10)
    assert [e["message"] for e in tail["events"]] == [str(i) for i in range(20, 30)]
    back = logs.get_log_events(
        logGroupName=group, logStreamName="s", limit=10, nextToken=tail["nextBackwardToken"]
    )
    assert [e["message"] for e in back["events"]] == [str(i) for i in range(10, 20)]
    window = logs.get_log_events(
        logGroupName=group, logStreamName="s", startTime=t0 + 5, endTime=t0 + 8, startFromHead=True
    )
    assert [e["message"] for e in window["events"]] == ["5", "6", "7"]
    empty = logs.get_log_events(logGroupName=group, logStreamName="s", startTime=t0 + 100)
    assert empty["events"] == []


def test_sagemaker_sdk_log_helpers_yield_every_event_once(logs: Any) -> None:
    group = new_group(logs, "/aws/sagemaker/TrainingJobs-")
    streams = ["job/algo-1-1700000000", "job/algo-2-1700000000"]
    for s in streams:
        logs.create_log_stream(logGroupName=group, logStreamName=s)
    t0 = now_ms() - 60_000
    # Several events share timestamps: the SDK skips those by count.
    put(logs, group, streams[0], [(t0 + i // 3, f"a{i}") for i in range(40)])
    put(logs, group, streams[1], [(t0 + i // 2, f"b{i}") for i in range(30)])

    single = [e["message"] for e in sagemaker.logs.log_stream(logs, group, streams[0], 0, 0)]
    assert single == [f"a{i}" for i in range(40)]
    # Resume mid-timestamp: t0 + 2 holds a6, a7, a8; skipping 1 starts at a7.
    resumed = [e["message"] for e in sagemaker.logs.log_stream(logs, group, streams[0], t0 + 2, 1)]
    assert resumed == [f"a{i}" for i in range(7, 40)]

    merged = list(sagemaker.logs.multi_stream_iter(logs, group, streams))
    assert sorted(e["message"] for _, e in merged) == sorted(
        [f"a{i}" for i in range(40)] + [f"b{i}" for i in range(30)]
    )
    stamps = [e["timestamp"] for _, e in merged]
    assert stamps == sorted(stamps)
    assert {streams[i] for i, _ in merged} == set(streams)


def test_sagemaker_sdk_polling_loop_prints_each_line_once(logs: Any) -> None:
    """Replays ``sagemaker.session._flush_log_streams``, the body of every log-tailing poll."""
    group = new_group(logs, "/aws/sagemaker/TrainingJobs-")
    printed: list[tuple[int, str]] = []
    positions: dict[str, sagemaker.logs.Position] = {}

    def poll() -> None:
        _flush_log_streams([], 2, logs, group, "job", positions, False, printed_by)

    def printed_by(index: int, message: str) -> None:
        printed.append((index, message))

    poll()  # no streams yet
    t0 = now_ms() - 60_000
    logs.create_log_stream(logGroupName=group, logStreamName="job/algo-1-1")
    put(logs, group, "job/algo-1-1", [(t0, "1:first"), (t0, "1:same-ms"), (t0 + 5, "1:third")])
    poll()
    logs.create_log_stream(logGroupName=group, logStreamName="job/algo-2-1")
    put(logs, group, "job/algo-2-1", [(t0 + 1, "2:first")])
    put(logs, group, "job/algo-1-1", [(t0 + 5, "1:fourth"), (t0 + 9, "1:fifth")])
    poll()
    poll()  # nothing new: nothing printed twice
    assert printed == [
        (0, "1:first"),
        (0, "1:same-ms"),
        (0, "1:third"),
        (1, "2:first"),
        (0, "1:fourth"),
        (0, "1:fifth"),
    ]


def test_describe_log_streams_order_prefix_and_no_spurious_token(logs: Any) -> None:
    group = new_group(logs)
    t0 = now_ms() - 60_000
    for i, name in enumerate(["job/algo-2", "job/algo-1", "other/x", "job/algo-3"]):
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        put(logs, group, name, [(t0 + 10 * i, "x")])
    # The SDK's exact call: a full page must come without nextToken, or it loops forever.
    exact = logs.describe_log_streams(
        logGroupName=group, logStreamNamePrefix="job/", orderBy="LogStreamName", limit=3
    )
    assert [s["logStreamName"] for s in exact["logStreams"]] == [
        "job/algo-1",
        "job/algo-2",
        "job/algo-3",
    ]
    assert "nextToken" not in exact
    stream = exact["logStreams"][0]
    assert stream["firstEventTimestamp"] == stream["lastEventTimestamp"] == t0 + 10
    assert stream["arn"].endswith(f":log-group:{group}:log-stream:job/algo-1")

    small = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="job/", limit=2)
    assert len(small["logStreams"]) == 2 and "nextToken" in small
    rest = logs.describe_log_streams(
        logGroupName=group, logStreamNamePrefix="job/", limit=2, nextToken=small["nextToken"]
    )
    assert [s["logStreamName"] for s in rest["logStreams"]] == ["job/algo-3"]
    assert "nextToken" not in rest

    newest = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)
    assert [s["logStreamName"] for s in newest["logStreams"]] == [
        "job/algo-3",
        "other/x",
        "job/algo-1",
        "job/algo-2",
    ]
    paginated = [
        s["logStreamName"]
        for page in logs.get_paginator("describe_log_streams").paginate(
            logGroupName=group, orderBy="LastEventTime", PaginationConfig={"PageSize": 1}
        )
        for s in page["logStreams"]
    ]
    assert paginated == list(reversed([s["logStreamName"] for s in newest["logStreams"]]))
    code, _, _ = error_of(
        logs.describe_log_streams,
        logGroupName=group,
        orderBy="LastEventTime",
        logStreamNamePrefix="job/",
    )
    assert code == "InvalidParameterException"


def test_filter_log_events_patterns_and_paging(logs: Any) -> None:
    group = new_group(logs)
    t0 = now_ms() - 60_000
    lines = {
        "job/algo-1": ["ERROR disk full", "INFO step 1", 'WARN "slow" epoch', "INFO step 2"],
        "job/algo-2": ["ERROR timeout talking to s3", "DEBUG noise", "INFO done"],
    }
    for offset, (stream, messages) in enumerate(lines.items()):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        put(logs, group, stream, [(t0 + 10 * i + offset, m) for i, m in enumerate(messages)])

    def messages(**kwargs: Any) -> list[str]:
        out = []
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, **kwargs):
            out += [e["message"] for e in page["events"]]
        return out

    assert messages() == [
        "ERROR disk full",
        "ERROR timeout talking to s3",
        "INFO step 1",
        "DEBUG noise",
        'WARN "slow" epoch',
        "INFO done",
        "INFO step 2",
    ]
    assert messages(filterPattern="ERROR") == ["ERROR disk full", "ERROR timeout talking to s3"]
    assert messages(filterPattern='"timeout talking"') == ["ERROR timeout talking to s3"]
    assert messages(filterPattern="INFO step") == ["INFO step 1", "INFO step 2"]
    assert messages(filterPattern="?WARN ?DEBUG") == ["DEBUG noise", 'WARN "slow" epoch']
    assert messages(filterPattern="INFO -done") == ["INFO step 1", "INFO step 2"]
    assert messages(filterPattern="%step [0-9]%") == ["INFO step 1", "INFO step 2"]
    assert messages(filterPattern="error") == []  # terms are case-sensitive
    assert messages(logStreamNames=["job/algo-2"], filterPattern="INFO") == ["INFO done"]
    assert messages(logStreamNamePrefix="job/algo-1", startTime=t0 + 10, endTime=t0 + 30) == [
        "INFO step 1",
        'WARN "slow" epoch',
    ]
    paged = logs.filter_log_events(logGroupName=group, limit=3)
    assert len(paged["events"]) == 3 and "nextToken" in paged
    event = paged["events"][0]
    assert event["logStreamName"] == "job/algo-1" and len(event["eventId"]) == 56
    assert messages(PaginationConfig={"PageSize": 2}) == messages()
    code, _, _ = error_of(logs.filter_log_events, logGroupName=group, filterPattern="{ $.a = 1 }")
    assert code == "InvalidParameterException"


def test_put_log_events_batch_rules(logs: Any) -> None:
    group = new_group(logs)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    code, message, status = error_of(
        logs.put_log_events,
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}],
    )
    assert (code, status) == ("InvalidParameterException", 400)
    assert "chronological order" in message
    code, message, _ = error_of(
        logs.put_log_events,
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": now - 25 * 3_600_000, "message": "a"},
            {"timestamp": now, "message": "b"},
        ],
    )
    assert code == "InvalidParameterException" and "24 hours" in message
    big = [{"timestamp": now, "message": "x" * 200_000} for _ in range(6)]
    code, message, _ = error_of(
        logs.put_log_events, logGroupName=group, logStreamName="s", logEvents=big
    )
    assert code == "InvalidParameterException" and "too large" in message

    day, hour = 86_400_000, 3_600_000
    old = logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": now - 14 * day - 2 * hour, "message": "too old"},
            {"timestamp": now - 14 * day - hour, "message": "too old too"},
            {"timestamp": now - 14 * day + hour, "message": "old but kept"},
        ],
    )
    assert old["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    new = logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": now + hour, "message": "kept"},
            {"timestamp": now + 3 * hour, "message": "too new"},
        ],
    )
    assert new["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    assert new["nextSequenceToken"] > old["nextSequenceToken"]
    page = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)
    assert [e["message"] for e in page["events"]] == ["old but kept", "kept"]


def test_groups_lifecycle_retention_and_errors(logs: Any) -> None:
    prefix = f"/lifecycle-{uuid.uuid4().hex[:8]}/"
    names = [f"{prefix}{c}" for c in "abc"]
    for name in names:
        logs.create_log_group(logGroupName=name)
    code, _, status = error_of(logs.create_log_group, logGroupName=names[0])
    assert (code, status) == ("ResourceAlreadyExistsException", 400)
    listed = logs.describe_log_groups(logGroupNamePrefix=prefix)
    assert [g["logGroupName"] for g in listed["logGroups"]] == names
    assert "nextToken" not in listed
    assert listed["logGroups"][0]["arn"].endswith(f":log-group:{names[0]}:*")
    paged = [
        g["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix=prefix, PaginationConfig={"PageSize": 2}
        )
        for g in page["logGroups"]
    ]
    assert paged == names

    logs.put_retention_policy(logGroupName=names[0], retentionInDays=7)
    group = logs.describe_log_groups(logGroupNamePrefix=names[0])["logGroups"][0]
    assert group["retentionInDays"] == 7
    logs.delete_retention_policy(logGroupName=names[0])
    group = logs.describe_log_groups(logGroupNamePrefix=names[0])["logGroups"][0]
    assert "retentionInDays" not in group
    code, _, _ = error_of(logs.put_retention_policy, logGroupName=names[0], retentionInDays=2)
    assert code == "InvalidParameterException"

    missing = f"{prefix}missing"
    for call, kwargs in [
        (logs.delete_log_group, {}),
        (logs.create_log_stream, {"logStreamName": "s"}),
        (logs.describe_log_streams, {}),
        (logs.get_log_events, {"logStreamName": "s"}),
        (logs.filter_log_events, {}),
        (logs.put_retention_policy, {"retentionInDays": 1}),
        (
            logs.put_log_events,
            {"logStreamName": "s", "logEvents": [{"timestamp": now_ms(), "message": "x"}]},
        ),
    ]:
        assert error_of(call, logGroupName=missing, **kwargs) == (
            "ResourceNotFoundException",
            "The specified log group does not exist.",
            400,
        ), call
    for call, kwargs in [
        (logs.delete_log_stream, {}),
        (logs.get_log_events, {}),
        (logs.put_log_events, {"logEvents": [{"timestamp": now_ms(), "message": "x"}]}),
    ]:
        assert error_of(call, logGroupName=names[1], logStreamName="nope", **kwargs) == (
            "ResourceNotFoundException",
            "The specified log stream does not exist.",
            400,
        ), call
    logs.create_log_stream(logGroupName=names[1], logStreamName="s")
    code, _, _ = error_of(logs.create_log_stream, logGroupName=names[1], logStreamName="s")
    assert code == "ResourceAlreadyExistsException"
    logs.delete_log_stream(logGroupName=names[1], logStreamName="s")
    logs.delete_log_group(logGroupName=names[1])
    listed = logs.describe_log_groups(logGroupNamePrefix=prefix)
    assert [g["logGroupName"] for g in listed["logGroups"]] == [names[0], names[2]]
    code, _, _ = error_of(
        logs.get_log_events, logGroupName=names[0], logStreamName="s", nextToken="garbage"
    )
    assert code in ("InvalidParameterException", "ResourceNotFoundException")


def test_log_group_identifier_arn_is_accepted(logs: Any) -> None:
    group = new_group(logs)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    put(logs, group, "s", [(now_ms() - 1000, "by arn")])
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["logGroupArn"]
    page = logs.get_log_events(logGroupIdentifier=arn, logStreamName="s", startFromHead=True)
    assert [e["message"] for e in page["events"]] == ["by arn"]


def test_events_older_than_retention_are_rejected_as_expired(logs: Any) -> None:
    group = new_group(logs)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    now = now_ms()
    day = 86_400_000
    result = put(logs, group, "s", [(now - day - 60_000, "expired"), (now - day + 60_000, "kept")])
    assert result["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    page = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)
    assert [e["message"] for e in page["events"]] == ["kept"]
