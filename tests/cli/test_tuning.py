"""``sagebrush tuning``: the table drawn from canned answers, and the polling loop against an
in-memory client. The answers are shaped exactly as botocore parses them (aware datetimes)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest
from rich.console import Console

from sagebrush.cli.main import build_parser
from sagebrush.cli.tuning import render, render_text, watch

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
ARN = "arn:aws:sagemaker:us-east-1:000000000000"
OBJECTIVE = {"Type": "Maximize", "MetricName": "validation:accuracy"}


def summary(
    n: int,
    status: str,
    *,
    value: float | None = None,
    seconds: int | None = None,
    reason: str | None = None,
    **tuned: str,
) -> dict[str, Any]:
    name = f"tune-{n:03d}-0a1b2c3d"
    out: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": f"{ARN}:training-job/{name}",
        "TuningJobName": "tune",
        "CreationTime": T0 + timedelta(seconds=n),
        "TrainingJobStatus": status,
        "TunedHyperParameters": tuned,
        "ObjectiveStatus": "Pending",
    }
    if status != "InProgress" or seconds is not None:
        out["TrainingStartTime"] = T0 + timedelta(seconds=n + 1)
    if seconds is not None:
        out["TrainingEndTime"] = out["TrainingStartTime"] + timedelta(seconds=seconds)
    if value is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {**OBJECTIVE, "Value": value}
        out["ObjectiveStatus"] = "Succeeded"
    elif status == "Failed":
        out["ObjectiveStatus"] = "Failed"
    if reason is not None:
        out["FailureReason"] = reason
    return out


def describe(
    status: str, summaries: list[dict[str, Any]], *, best: dict[str, Any] | None = None
) -> dict[str, Any]:
    def count(field: str, value: str) -> int:
        return sum(s[field] == value for s in summaries)

    out: dict[str, Any] = {
        "HyperParameterTuningJobName": "tune",
        "HyperParameterTuningJobArn": f"{ARN}:hyper-parameter-tuning-job/tune",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": dict(OBJECTIVE),
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        },
        "HyperParameterTuningJobStatus": status,
        "CreationTime": T0,
        "LastModifiedTime": T0 + timedelta(seconds=90),
        "TrainingJobStatusCounters": {
            "Completed": count("TrainingJobStatus", "Completed"),
            "InProgress": count("TrainingJobStatus", "InProgress"),
            "RetryableError": 0,
            "NonRetryableError": count("TrainingJobStatus", "Failed"),
            "Stopped": 0,
        },
        "ObjectiveStatusCounters": {
            "Succeeded": count("ObjectiveStatus", "Succeeded"),
            "Pending": count("ObjectiveStatus", "Pending"),
            "Failed": count("ObjectiveStatus", "Failed"),
        },
    }
    if best is not None:
        out["BestTrainingJob"] = best
    if status in {"Completed", "Failed", "Stopped"}:
        out["HyperParameterTuningEndTime"] = T0 + timedelta(seconds=95)
    return out


def trials() -> list[dict[str, Any]]:
    return [
        summary(1, "Completed", value=0.91, seconds=12, learning_rate="0.1", max_depth="3"),
        summary(2, "Completed", value=0.95, seconds=14, learning_rate="0.01", max_depth="5"),
        summary(3, "Failed", seconds=3, reason="AlgorithmError: boom", learning_rate="0.5"),
        summary(4, "InProgress", learning_rate="0.05", max_depth="4"),
    ]


def rows(text: str) -> dict[str, list[str]]:
    """The table's rows by training-job name, cells stripped (the first cell is the mark)."""
    found = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[1].startswith("tune-"):
            found[cells[1]] = cells
    return found


def test_snapshot_shows_the_header_and_one_row_per_training_job() -> None:
    jobs = trials()
    text = render_text(
        describe("InProgress", jobs, best=jobs[1]), jobs[::-1], T0 + timedelta(seconds=75)
    )
    assert "\x1b" not in text
    header = dict(
        re.split(r"\s{2,}", line.strip(), maxsplit=1)
        for line in text.split("\n\n", 1)[0].splitlines()
    )
    assert header["tuning job"] == "tune"
    assert header["status"] == "InProgress"
    assert header["strategy"] == "Random"
    assert header["objective"] == "Maximize validation:accuracy"
    assert header["training jobs"].split() == [
        "Completed", "2", "InProgress", "1", "RetryableError", "0",
        "NonRetryableError", "1", "Stopped", "0",
    ]  # fmt: skip
    assert header["objectives"].split() == ["Succeeded", "2", "Pending", "1", "Failed", "1"]
    assert header["elapsed"] == "1m 15s"
    assert header["best"].split() == [
        "tune-002-0a1b2c3d", "0.95", "(learning_rate=0.01,", "max_depth=5)",
    ]  # fmt: skip

    table = rows(text)
    assert list(table) == [f"tune-00{n}-0a1b2c3d" for n in (1, 2, 3, 4)]  # creation order
    heading = next(line for line in text.splitlines() if "training job" in line and "|" in line)
    assert [c.strip() for c in heading.strip().strip("|").split("|")] == [
        "", "training job", "status", "learning_rate", "max_depth",
        "objective", "seconds", "failure reason",
    ]  # fmt: skip
    assert table["tune-001-0a1b2c3d"] == [
        "", "tune-001-0a1b2c3d", "Completed", "0.1", "3", "0.91", "12", "",
    ]  # fmt: skip
    assert table["tune-002-0a1b2c3d"][0] == "*"
    assert table["tune-002-0a1b2c3d"][5] == "0.95"
    # A training job without a value for a tuned hyperparameter, or without an objective
    # or an end yet, has blank cells.
    assert table["tune-003-0a1b2c3d"] == [
        "", "tune-003-0a1b2c3d", "Failed", "0.5", "", "", "3", "AlgorithmError: boom",
    ]  # fmt: skip
    assert table["tune-004-0a1b2c3d"][2:] == ["InProgress", "0.05", "4", "", "", ""]


def test_a_finished_job_counts_elapsed_time_to_its_end_and_has_no_failure_column() -> None:
    jobs = trials()[:2]
    text = render_text(describe("Completed", jobs, best=jobs[1]), jobs, T0 + timedelta(hours=5))
    assert re.search(r"^elapsed\s+1m 35s$", text, re.MULTILINE)
    assert "failure reason" not in text
    assert "tune-002-0a1b2c3d  0.95" in text


def test_no_training_jobs_yet_and_no_best() -> None:
    text = render_text(describe("InProgress", []), [], T0 + timedelta(seconds=3600 + 62))
    assert re.search(r"^elapsed\s+1h 01m 02s$", text, re.MULTILINE)
    assert not re.search(r"^best", text, re.MULTILINE)
    assert not rows(text)


def test_objective_from_the_training_job_definitions() -> None:
    job = describe("InProgress", [])
    del job["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    job["TrainingJobDefinitions"] = [
        {"DefinitionName": "a", "TuningObjective": {"Type": "Minimize", "MetricName": "loss"}}
    ]
    text = render_text(job, [summary(1, "InProgress", lr="1")], T0)
    assert re.search(r"^objective\s+Minimize loss$", text, re.MULTILINE)


def test_the_terminal_view_marks_the_best_row() -> None:
    jobs = trials()
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system="standard")
    console.print(render(describe("InProgress", jobs, best=jobs[1]), jobs, T0))
    best = [line for line in out.getvalue().splitlines() if "tune-002" in line][-1]
    assert "*" in best
    assert "\x1b[1m" in best  # bold


class FakeSageMaker:
    """Answers describe with each of ``states`` in turn (the last one from then on), and the
    list with ``summaries`` in pages of ``page`` items."""

    def __init__(
        self, states: list[dict[str, Any]], summaries: list[dict[str, Any]], page: int = 100
    ):
        self.states = states
        self.summaries = summaries
        self.page = page
        self.list_calls: list[dict[str, Any]] = []

    def describe_hyper_parameter_tuning_job(self, **kwargs: Any) -> dict[str, Any]:
        if not self.states:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Tuning job tune not found"}},
                "DescribeHyperParameterTuningJob",
            )
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def list_training_jobs_for_hyper_parameter_tuning_job(self, **kwargs: Any) -> dict[str, Any]:
        self.list_calls.append(kwargs)
        start = int(kwargs.get("NextToken", "0"))
        answer: dict[str, Any] = {"TrainingJobSummaries": self.summaries[start : start + self.page]}
        if start + self.page < len(self.summaries):
            answer["NextToken"] = str(start + self.page)
        return answer


def piped() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out), out


def test_piped_output_waits_for_the_end_and_prints_one_plain_table() -> None:
    jobs = trials()
    client = FakeSageMaker(
        [describe("InProgress", jobs), describe("InProgress", jobs), describe("Completed", jobs)],
        jobs,
        page=3,
    )
    sleeps: list[float] = []
    console, out = piped()
    assert watch(client, "tune", console=console, interval=0.5, sleep=sleeps.append) == 0
    assert sleeps == [0.5, 0.5]
    text = out.getvalue()
    assert text.count("tuning job ") == 1
    assert re.search(r"^status\s+Completed$", text, re.MULTILINE)
    assert list(rows(text)) == [j["TrainingJobName"] for j in jobs]
    assert client.list_calls[-2:] == [
        {"HyperParameterTuningJobName": "tune", "MaxResults": 100},
        {"HyperParameterTuningJobName": "tune", "MaxResults": 100, "NextToken": "3"},
    ]


def test_once_prints_the_current_snapshot_without_waiting() -> None:
    jobs = trials()
    client = FakeSageMaker([describe("InProgress", jobs)], jobs)
    console, out = piped()
    sleeps: list[float] = []
    assert watch(client, "tune", console=console, interval=2, once=True, sleep=sleeps.append) == 0
    assert sleeps == []
    assert re.search(r"^status\s+InProgress$", out.getvalue(), re.MULTILINE)


def test_a_failed_job_exits_1() -> None:
    client = FakeSageMaker([describe("Failed", [])], [])
    console, out = piped()
    assert watch(client, "tune", console=console, interval=1, sleep=lambda _: None) == 1
    assert re.search(r"^status\s+Failed$", out.getvalue(), re.MULTILINE)


def test_an_unknown_job_exits_2_with_the_servers_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console, out = piped()
    assert watch(FakeSageMaker([], []), "tune", console=console, interval=1) == 2
    assert capsys.readouterr().err == "sagebrush: Tuning job tune not found\n"
    assert out.getvalue() == ""


def test_on_a_terminal_it_redraws_until_the_end() -> None:
    jobs = trials()
    client = FakeSageMaker(
        [describe("InProgress", jobs[:1]), describe("Stopped", jobs, best=jobs[1])], jobs
    )
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    assert watch(client, "tune", console=console, interval=1, sleep=lambda _: None) == 0
    final = out.getvalue().rsplit("tuning job", 1)[1]
    assert "Stopped" in final
    assert all(j["TrainingJobName"] in final for j in jobs)


@pytest.mark.parametrize("interval", ["0", "-1", "soon", "inf"])
def test_interval_must_be_a_positive_number(
    interval: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["tuning", "tune", "--interval", interval])
    assert "not a positive number of seconds" in capsys.readouterr().err


def test_interval_defaults_to_two_seconds() -> None:
    args = build_parser().parse_args(["tuning", "tune"])
    assert (args.name, args.interval, args.once) == ("tune", 2.0, False)


def test_a_bounded_view_keeps_the_latest_rows_and_the_best() -> None:
    jobs = [summary(n, "Completed", value=n / 10, seconds=5, x=str(n)) for n in range(1, 9)]
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None)
    console.print(render(describe("InProgress", jobs, best=jobs[1]), jobs, T0, max_rows=4))
    shown = re.findall(r"^(\*?)\s+(tune-\d+)", out.getvalue(), re.MULTILINE)
    assert shown == [("*", "tune-002"), ("", "tune-006"), ("", "tune-007"), ("", "tune-008")]
    assert "4 earlier training jobs not shown" in out.getvalue()


def test_ctrl_c_on_a_terminal_leaves_the_last_snapshot_and_exits_130() -> None:
    jobs = trials()

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    client = FakeSageMaker([describe("InProgress", jobs)], jobs)
    assert watch(client, "tune", console=console, interval=1, sleep=interrupt) == 130
    final = out.getvalue().rsplit("tuning job", 1)[1]
    assert "InProgress" in final
    assert all(j["TrainingJobName"] in final for j in jobs)
