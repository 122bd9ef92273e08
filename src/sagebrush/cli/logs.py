"""``sagebrush logs NAME``: print (and with ``--follow``, keep printing) a job's log streams.

Talks to the server like any client, through the CloudWatch Logs API: the streams of
``--group`` whose names start with ``NAME/`` (SageMaker names them ``<job>/algo-<n>-<epoch>``).
With the group ``/aws/sagemaker/Endpoints``, NAME is an endpoint and its own group
``/aws/sagemaker/Endpoints/NAME`` is read whole.

``--follow`` follows the job named by NAME to its end: the group says which kind of job it
is (:data:`KINDS`), and its status is polled with the logs. Once the status is final, the
logs are read once more (what the job printed last lands just before its status changes),
a last line on stderr gives the status, and the exit status is 0 only for ``Completed``:
a job that failed or was stopped (by a user, or by ``MaxRuntimeInSeconds``) did not finish
its work, so ``sagebrush logs JOB -f && next-step`` does not go on. An endpoint has no end:
it is followed until it is deleted (0) or fails (1). A NAME that is no job of the kind
exits 2; a job without log streams yet (its instances have not started) is waited for. A
group of no known kind, or a kind the server does not track (``DescribeProcessingJob`` is
not implemented), is followed until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import botocore.exceptions

from sagebrush.cli.discovery import server_client

POLL_SECONDS = 1.0
ENDPOINTS_GROUP = "/aws/sagemaker/Endpoints"
_MISSING = frozenset({"ValidationException", "ResourceNotFound", "ResourceNotFoundException"})
_JOB_ENDS: Mapping[str, int] = {"Completed": 0, "Failed": 1, "Stopped": 1}


@dataclass(frozen=True)
class Kind:
    """How to ask the server about one kind of job: the Describe call and its final statuses
    with the exit status each gives."""

    noun: str
    operation: str  # the botocore client method
    parameter: str
    status_key: str
    ends: Mapping[str, int] = field(default_factory=lambda: _JOB_ENDS)
    gone_code: int = 1  # the exit status when it disappears while followed


KINDS: Mapping[str, Kind] = {
    "/aws/sagemaker/TrainingJobs": Kind(
        "training job", "describe_training_job", "TrainingJobName", "TrainingJobStatus"
    ),
    "/aws/sagemaker/TransformJobs": Kind(
        "transform job", "describe_transform_job", "TransformJobName", "TransformJobStatus"
    ),
    "/aws/sagemaker/ProcessingJobs": Kind(
        "processing job", "describe_processing_job", "ProcessingJobName", "ProcessingJobStatus"
    ),
    ENDPOINTS_GROUP: Kind(
        "endpoint",
        "describe_endpoint",
        "EndpointName",
        "EndpointStatus",
        ends={"Failed": 1},
        gone_code=0,
    ),
}


def print_logs(args: argparse.Namespace) -> int:
    client, info = server_client(args.home, "logs")
    group, prefix = where(args.group, args.name)
    tail = _Tail(client, group, prefix)
    try:
        if args.follow:
            sagemaker, _ = server_client(args.home, "sagemaker")
            kind, name = followed(args.group, args.name)
            return follow(tail, sagemaker, kind, name)
        if not tail.poll():
            print(f"sagebrush: no log streams under {group} {prefix}", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        return 0
    except botocore.exceptions.EndpointConnectionError:
        print(f"sagebrush: no server answers at {info.url}", file=sys.stderr)
        return 1
    except botocore.exceptions.ClientError as exc:
        print(f"sagebrush: {_message(exc)}", file=sys.stderr)
        return 1


def where(group: str, name: str) -> tuple[str, str]:
    """The log group to read and the prefix of its streams that belong to ``name``."""
    if group.rstrip("/") == ENDPOINTS_GROUP:
        return f"{ENDPOINTS_GROUP}/{name}", ""
    return group, f"{name}/"


def followed(group: str, name: str) -> tuple[Kind | None, str]:
    """What ``--follow`` watches: the kind of job the group holds, and its name (an
    endpoint's own group ``/aws/sagemaker/Endpoints/EP`` names the endpoint EP)."""
    group = group.rstrip("/")
    if group.startswith(f"{ENDPOINTS_GROUP}/"):
        return KINDS[ENDPOINTS_GROUP], group.removeprefix(f"{ENDPOINTS_GROUP}/")
    return KINDS.get(group), name


def follow(
    tail: _Tail,
    sagemaker: Any,
    kind: Kind | None,
    name: str,
    *,
    interval: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    err: TextIO | None = None,
) -> int:
    """Print the streams' events as they come until the job ends; the exit status."""
    err = err or sys.stderr
    watch = _Watch(sagemaker, kind, name) if kind is not None else None
    if watch is not None:
        try:
            watch.describe()
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _MISSING:
                print(f"sagebrush: no {watch.kind.noun} {name}: {_message(exc)}", file=err)
                return 2
            if code not in {"NotImplemented", "UnknownOperationException"}:
                raise
            print(
                f"sagebrush: this server does not track {watch.kind.noun}s "
                f"({_message(exc)}); following the logs until interrupted",
                file=err,
            )
            watch = None
    while True:
        # The status first, then the logs: whatever the job printed before its status
        # turned final is read in this same pass.
        ended = watch.poll() if watch is not None else None
        tail.poll()
        if ended is not None:
            line, code = ended
            print(f"sagebrush: {line}", file=err)
            err.flush()
            return code
        sleep(interval)


class _Watch:
    """The followed job's status: None while it runs, else the last line and exit status."""

    def __init__(self, client: Any, kind: Kind, name: str) -> None:
        self.client = client
        self.kind = kind
        self.name = name

    def describe(self) -> dict[str, Any]:
        call = getattr(self.client, self.kind.operation)
        described: dict[str, Any] = call(**{self.kind.parameter: self.name})
        return described

    def poll(self) -> tuple[str, int] | None:
        who = f"{self.kind.noun} {self.name}"
        try:
            described = self.describe()
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _MISSING:
                raise
            gone = "deleted" if self.kind.gone_code == 0 else "gone"
            return f"{who} {gone}", self.kind.gone_code
        status = str(described.get(self.kind.status_key, ""))
        if status not in self.kind.ends:
            return None
        reason = described.get("FailureReason") or (
            _last_message(described) if status == "Stopped" else ""
        )
        return f"{who} {status}" + (f": {reason}" if reason else ""), self.kind.ends[status]


def _last_message(described: Mapping[str, Any]) -> str:
    """Why a training job stopped: its last status message ("Training job stopped: it
    exceeded MaxRuntimeInSeconds"); transform jobs have none."""
    transitions = described.get("SecondaryStatusTransitions") or []
    return str(transitions[-1].get("StatusMessage") or "") if transitions else ""


def _message(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message") or exc)


class _Tail:
    """Where each stream was read up to, so every event is printed exactly once."""

    def __init__(self, client: Any, group: str, prefix: str, out: TextIO | None = None) -> None:
        self.client = client
        self.group = group
        self.prefix = prefix
        self.out = out
        self.tokens: dict[str, str | None] = {}

    def poll(self) -> bool:
        names = self._streams()
        for name in names:
            self._drain(name, label=len(names) > 1)
        return bool(names)

    def _streams(self) -> list[str]:
        kwargs: dict[str, Any] = {"logGroupName": self.group, "orderBy": "LogStreamName"}
        if self.prefix:
            kwargs["logStreamNamePrefix"] = self.prefix
        names: list[str] = []
        while True:
            try:
                page = self.client.describe_log_streams(**kwargs)
            except self.client.exceptions.ResourceNotFoundException:
                return names
            names += [s["logStreamName"] for s in page["logStreams"]]
            if not page.get("nextToken"):
                return names
            kwargs["nextToken"] = page["nextToken"]

    def _drain(self, stream: str, *, label: bool) -> None:
        out = self.out or sys.stdout
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": self.group,
                "logStreamName": stream,
                "startFromHead": True,
            }
            token = self.tokens.get(stream)
            if token:
                kwargs["nextToken"] = token
            page = self.client.get_log_events(**kwargs)
            for event in page["events"]:
                message = event["message"].rstrip("\n")
                shown = stream.removeprefix(self.prefix)
                print(f"[{shown}] {message}" if label else message, file=out)
            out.flush()
            self.tokens[stream] = page["nextForwardToken"]
            if not page["events"]:
                return
