"""``sagebrush env`` and ``sagebrush status``: read what ``serve`` recorded, ask the server."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from sagebrush.cli.discovery import (
    ServerInfo,
    export_lines,
    read_server,
    write_sdk_config,
)
from sagebrush.config import Settings, load_settings


def _server(settings: Settings) -> ServerInfo:
    """The running server of this home, else where one would listen by default."""
    return read_server(settings.home) or ServerInfo.for_settings(settings, settings.port)


def print_env(args: argparse.Namespace) -> int:
    settings = load_settings(home=args.home)
    info = _server(settings)
    if not (settings.home / "sagemaker-config.yaml").exists():
        write_sdk_config(settings)
    print(f"# Sagebrush at {info.url} (home {settings.home})")
    for line in export_lines(settings, info):
        print(line)
    return 0


def print_status(args: argparse.Namespace) -> int:
    settings = load_settings(home=args.home)
    info = _server(settings)
    try:
        # The server walks the home to measure its disk use: a big home takes a while.
        with urllib.request.urlopen(f"{info.url}/_sagebrush/status", timeout=60) as reply:
            data: dict[str, Any] = json.load(reply)
    except (urllib.error.URLError, OSError) as exc:
        print(f"sagebrush: no server answers at {info.url} ({exc})", file=sys.stderr)
        print(f"  start one with: sagebrush serve --home {settings.home}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    from rich.console import Console

    from sagebrush.cli.status import show

    show(data, info.url, Console())
    return 0
