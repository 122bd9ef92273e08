"""``sagebrush tuning NAME``: a live table of a hyperparameter tuning job's trials.

Talks to the server like any client: it polls ``DescribeHyperParameterTuningJob`` and
``ListTrainingJobsForHyperParameterTuningJob`` and redraws until the job ends. Drawing is a
pure function of the two answers (shaped as botocore parses them), so it is tested without a
server. Piped output is never animated: one plain-text table when the job ends (with
``--once``, at once).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from sagebrush.cli._format import duration
from sagebrush.cli.discovery import server_client

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
PAGE_SIZE = 100  # ListTrainingJobsForHyperParameterTuningJob's MaxResults ceiling
PLAIN_WIDTH = 1000  # wide enough that piped tables never wrap
LIVE_CHROME = 16  # screen lines the live view keeps for the header and the table's head
STATUS_STYLES = {
    "Completed": "green",
    "InProgress": "cyan",
    "Failed": "red",
    "Stopping": "magenta",
    "Stopped": "magenta",
}
TRAINING_COUNTERS = ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped")
OBJECTIVE_COUNTERS = ("Succeeded", "Pending", "Failed")

Describe = Mapping[str, Any]
Summary = Mapping[str, Any]
Snapshot = tuple[Describe, list[Summary]]


def watch_tuning(args: argparse.Namespace) -> int:
    client, info = server_client(args.home, "sagemaker")
    try:
        return watch(client, args.name, console=Console(), interval=args.interval, once=args.once)
    except KeyboardInterrupt:
        return 130
    except botocore.exceptions.EndpointConnectionError:
        print(f"sagebrush: no server answers at {info.url}", file=sys.stderr)
        return 1


def watch(
    client: Any,
    name: str,
    *,
    console: Console,
    interval: float,
    once: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Show the tuning job until it ends (or once); 0 when it ends well, 1 if it failed,
    2 if there is no such job."""

    def later() -> Snapshot:
        sleep(interval)
        return fetch(client, name)

    try:
        describe, summaries = fetch(client, name)
        if not console.is_terminal:
            while not once and describe["HyperParameterTuningJobStatus"] not in TERMINAL:
                describe, summaries = later()
            console.file.write(render_text(describe, summaries, _now()))
            console.file.flush()
        elif once:
            console.print(render(describe, summaries, _now()))
        else:
            describe, interrupted = _live(console, (describe, summaries), later)
            if interrupted:
                return 130
    except botocore.exceptions.ParamValidationError as exc:
        print(f"sagebrush: {exc}", file=sys.stderr)
        return 2
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"sagebrush: {error.get('Message') or exc}", file=sys.stderr)
        return 2 if error.get("Code") in {"ValidationException", "ResourceNotFound"} else 1
    return 1 if describe["HyperParameterTuningJobStatus"] == "Failed" else 0


def _live(
    console: Console, first: Snapshot, later: Callable[[], Snapshot]
) -> tuple[Describe, bool]:
    """Redraw in place until the job ends (or Ctrl-C), then print the whole last snapshot:
    the live view keeps to the screen's height, the final one is for the scrollback."""
    describe, summaries = first
    interrupted = False

    def draw() -> RenderableType:
        return render(describe, summaries, _now(), max_rows=max(3, console.height - LIVE_CHROME))

    with Live(draw(), console=console, auto_refresh=False, transient=True) as live:
        try:
            while describe["HyperParameterTuningJobStatus"] not in TERMINAL:
                describe, summaries = later()
                live.update(draw(), refresh=True)
        except KeyboardInterrupt:
            interrupted = True
    console.print(render(describe, summaries, _now()))
    return describe, interrupted


def fetch(client: Any, name: str) -> Snapshot:
    """The job and every one of its training jobs (all pages)."""
    describe = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    summaries: list[Summary] = []
    kwargs: dict[str, Any] = {"HyperParameterTuningJobName": name, "MaxResults": PAGE_SIZE}
    while True:
        page = client.list_training_jobs_for_hyper_parameter_tuning_job(**kwargs)
        summaries.extend(page["TrainingJobSummaries"])
        token = page.get("NextToken")
        if not token:
            return describe, summaries
        kwargs["NextToken"] = token


def render_text(describe: Describe, summaries: Sequence[Summary], now: datetime) -> str:
    """The snapshot as plain text: no colours, no escape codes, no wrapping."""
    out = io.StringIO()
    console = Console(file=out, width=PLAIN_WIDTH, color_system=None, highlight=False)
    console.print(render(describe, summaries, now, plain=True))
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def render(
    describe: Describe,
    summaries: Sequence[Summary],
    now: datetime,
    *,
    plain: bool = False,
    max_rows: int | None = None,
) -> RenderableType:
    """The header (the job, its counters, the best so far) above one row per training job,
    in creation order. With ``max_rows``, only the latest rows and the best one are shown."""
    table = _table(describe, summaries, plain=plain, max_rows=max_rows)
    return Group(_header(describe, now), Text(""), table)


def _header(describe: Describe, now: datetime) -> Table:
    config = describe["HyperParameterTuningJobConfig"]
    status = describe["HyperParameterTuningJobStatus"]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("tuning job", describe["HyperParameterTuningJobName"])
    grid.add_row("status", Text(status, style=STATUS_STYLES.get(status, "")))
    grid.add_row("strategy", config["Strategy"])
    objective = _objective(describe)
    if objective:
        grid.add_row("objective", f"{objective['Type']} {objective['MetricName']}")
    grid.add_row(
        "training jobs", _counters(describe["TrainingJobStatusCounters"], TRAINING_COUNTERS)
    )
    grid.add_row("objectives", _counters(describe["ObjectiveStatusCounters"], OBJECTIVE_COUNTERS))
    end = describe.get("HyperParameterTuningEndTime") or now
    grid.add_row("elapsed", duration((end - describe["CreationTime"]).total_seconds()))
    best = describe.get("BestTrainingJob")
    if best:
        tuned = ", ".join(f"{k}={v}" for k, v in sorted(best["TunedHyperParameters"].items()))
        grid.add_row(
            "best",
            Text.assemble(
                (best["TrainingJobName"], "bold green"),
                f"  {_objective_value(best) or '-'}",
                f"  ({tuned})" if tuned else "",
            ),
        )
    if describe.get("FailureReason"):
        grid.add_row("failure reason", Text(describe["FailureReason"], style="red"))
    return grid


def _table(
    describe: Describe, summaries: Sequence[Summary], *, plain: bool, max_rows: int | None
) -> Table:
    best = (describe.get("BestTrainingJob") or {}).get("TrainingJobName")
    tuned = sorted({k for s in summaries for k in s["TunedHyperParameters"]})
    ordered = sorted(summaries, key=lambda s: (s["CreationTime"], s["TrainingJobName"]))
    shown = ordered if max_rows is None else _latest(ordered, best, max_rows)
    with_reasons = any(s.get("FailureReason") for s in shown)
    table = Table(box=box.ASCII2 if plain else box.SIMPLE_HEAD, show_edge=plain, pad_edge=plain)
    table.add_column("", width=1, no_wrap=True)
    table.add_column("training job", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for name in tuned:  # where a narrow terminal makes room: long values are cut short
        table.add_column(name, overflow="ellipsis")
    table.add_column("objective", justify="right", no_wrap=True)  # the header names it
    table.add_column("seconds", justify="right", no_wrap=True)
    if with_reasons:
        table.add_column("failure reason", max_width=60, overflow="ellipsis", no_wrap=True)
    if len(shown) < len(ordered):
        table.caption = f"{len(ordered) - len(shown)} earlier training jobs not shown"
    for s in shown:
        status = s["TrainingJobStatus"]
        is_best = s["TrainingJobName"] == best
        row: list[RenderableType] = [
            "*" if is_best else "",
            s["TrainingJobName"],
            Text(status, style=STATUS_STYLES.get(status, "")),
            *(s["TunedHyperParameters"].get(name, "") for name in tuned),
            _objective_value(s),
            _training_seconds(s),
        ]
        if with_reasons:
            row.append(s.get("FailureReason", ""))
        table.add_row(*row, style="bold" if is_best else None)
    return table


def _latest(ordered: Sequence[Summary], best: str | None, count: int) -> list[Summary]:
    """The last ``count`` rows, the best row first among them wherever it is."""
    if len(ordered) <= count:
        return list(ordered)
    tail = list(ordered[len(ordered) - count :])
    best_row = next((s for s in ordered if s["TrainingJobName"] == best), None)
    if best_row is not None and best_row not in tail:
        tail = [best_row, *tail[1:]]
    return tail


def _objective(describe: Describe) -> Mapping[str, Any] | None:
    """The objective: the job's, else the first training-job definition's (multi-definition
    jobs carry one per definition)."""
    config = describe["HyperParameterTuningJobConfig"]
    definitions = [describe.get("TrainingJobDefinition") or {}]
    definitions += describe.get("TrainingJobDefinitions") or []
    found: Mapping[str, Any] | None = config.get("HyperParameterTuningJobObjective") or next(
        (d["TuningObjective"] for d in definitions if d.get("TuningObjective")), None
    )
    return found


def _objective_value(summary: Summary) -> str:
    metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
    return "" if not metric else f"{metric['Value']:.6g}"


def _training_seconds(summary: Summary) -> str:
    start, end = summary.get("TrainingStartTime"), summary.get("TrainingEndTime")
    if start is None or end is None:
        return ""
    return f"{(end - start).total_seconds():.0f}"


def _counters(counters: Mapping[str, int], names: Sequence[str]) -> str:
    return "  ".join(f"{name} {counters.get(name, 0)}" for name in names)


def _now() -> datetime:
    return datetime.now(UTC)
