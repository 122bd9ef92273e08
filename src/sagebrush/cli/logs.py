"""``sagebrush logs NAME``: print (and with ``--follow``, keep printing) a job's log streams.

Talks to the server like any client, through the CloudWatch Logs API: the streams of
``--group`` whose names start with ``NAME/`` (SageMaker names them ``<job>/algo-<n>-<epoch>``).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import botocore.exceptions

from sagebrush.cli.discovery import server_client

POLL_SECONDS = 1.0


def print_logs(args: argparse.Namespace) -> int:
    client, info = server_client(args.home, "logs")
    tail = _Tail(client, args.group, f"{args.name}/")
    try:
        while True:
            found = tail.poll()
            if not args.follow:
                if not found:
                    print(
                        f"sagebrush: no log streams under {args.group} {args.name}/",
                        file=sys.stderr,
                    )
                    return 1
                return 0
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return 0
    except botocore.exceptions.EndpointConnectionError:
        print(f"sagebrush: no server answers at {info.url}", file=sys.stderr)
        return 1


class _Tail:
    """Where each stream was read up to, so every event is printed exactly once."""

    def __init__(self, client: Any, group: str, prefix: str) -> None:
        self.client = client
        self.group = group
        self.prefix = prefix
        self.tokens: dict[str, str | None] = {}

    def poll(self) -> bool:
        try:
            streams = self.client.describe_log_streams(
                logGroupName=self.group,
                logStreamNamePrefix=self.prefix,
                orderBy="LogStreamName",
            )["logStreams"]
        except self.client.exceptions.ResourceNotFoundException:
            return False
        names = [s["logStreamName"] for s in streams]
        for name in names:
            self._drain(name, label=len(names) > 1)
        return bool(names)

    def _drain(self, stream: str, *, label: bool) -> None:
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
                print(f"[{stream.removeprefix(self.prefix)}] {message}" if label else message)
            sys.stdout.flush()
            self.tokens[stream] = page["nextForwardToken"]
            if not page["events"]:
                return
