"""``sagebrush status`` as text: the server's status document in readable sections.

Drawing is a pure function of the JSON ``GET /_sagebrush/status`` answers (see
``docs/operations.md``), so it is tested without a server. Piped output is plain text: no
colours, no escape codes, no wrapping.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from sagebrush.cli._format import duration, size

PLAIN_WIDTH = 1000  # wide enough that piped tables never wrap
RESOURCE_NAMES = {
    "training_jobs": "training jobs",
    "transform_jobs": "transform jobs",
    "tuning_jobs": "tuning jobs",
    "endpoints": "endpoints",
    "models": "models",
    "endpoint_configs": "endpoint configs",
}
PROCESS_NAMES = {"training": "training", "endpoints": "endpoints", "transform": "transform"}
STATUS_STYLES = {
    "Completed": "green",
    "InService": "green",
    "InProgress": "cyan",
    "Creating": "cyan",
    "Updating": "cyan",
    "Failed": "red",
    "Stopped": "magenta",
    "Deleting": "magenta",
}

Status = Mapping[str, Any]


def show(data: Status, url: str, console: Console) -> None:
    """Print the status: styled on a terminal, plain text when piped."""
    if console.is_terminal:
        console.print(render(data, url))
    else:
        console.file.write(render_text(data, url))
        console.file.flush()


def render_text(data: Status, url: str) -> str:
    out = io.StringIO()
    console = Console(file=out, width=PLAIN_WIDTH, color_system=None, highlight=False)
    console.print(render(data, url, plain=True))
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def render(data: Status, url: str, *, plain: bool = False) -> RenderableType:
    """The server, then resources by kind and status, endpoints with their instances,
    processes, and disk use; each section under a title of its own."""
    parts: list[RenderableType] = [_server(data, url)]
    if "resources" in data:  # an older server answers with the first section only
        parts += [
            _title("Resources"),
            _resources(data["resources"]),
            _title("Endpoints"),
            _endpoints(data["endpoints"], plain=plain),
            _title(f"Processes: {data['processes']['count']} running"),
            _processes(data["processes"]),
            _title(f"Disk: {size(data['disk']['total'])}"),
            _disk(data["disk"]),
        ]
    return Group(*parts)


def _title(text: str) -> Text:
    return Text(f"\n{text}", style="bold")


def _grid(rows: Sequence[tuple[str, RenderableType]], *, indent: bool = False) -> Table:
    """Name and value rows: the server's names bold, a section's indented."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="" if indent else "bold", no_wrap=True)
    grid.add_column()
    for name, value in rows:
        grid.add_row(f"  {name}" if indent else name, value)
    return grid


def _server(data: Status, url: str) -> Table:
    s3 = data["s3"]
    rows: list[tuple[str, RenderableType]] = [
        ("server", f"{url} (version {data['version']}, up {duration(data['uptime_seconds'])})"),
        ("home", data["home"]),
        ("database", data["database"]),
        ("objects", data["objects_dir"]),
        ("account / region", f"{data['account_id']} / {data['region']}"),
        ("signatures", "verified" if data["signature_verification"] else "not verified"),
        ("S3", f"{s3['buckets']} buckets, {s3['objects']} objects, {size(s3['bytes'])}"),
    ]
    if data.get("console"):
        rows.append(("console", data["console"]))
    return _grid(rows)


def _resources(resources: Mapping[str, Mapping[str, int]]) -> Table:
    rows: list[tuple[str, RenderableType]] = []
    for key, name in RESOURCE_NAMES.items():
        counts = resources.get(key) or {}
        rows.append((name, _counts(counts) if counts else Text("none", style="dim")))
    return _grid(rows, indent=True)


def _counts(counts: Mapping[str, int]) -> Text:
    text = Text()
    for i, (status, count) in enumerate(sorted(counts.items())):
        if i:
            text.append(", ")
        text.append(f"{count} ")
        text.append(status, style=STATUS_STYLES.get(status, ""))
    return text


def _endpoints(endpoints: Sequence[Mapping[str, Any]], *, plain: bool) -> RenderableType:
    if not endpoints:
        return Text("  none", style="dim")
    table = Table(box=box.ASCII2 if plain else box.SIMPLE_HEAD, show_edge=plain, pad_edge=plain)
    for column in ("endpoint", "status", "variant", "instances", "processes (pid:port)"):
        table.add_column(column, no_wrap=True)
    reasons = any(e.get("failure_reason") for e in endpoints)
    if reasons:
        table.add_column("failure reason", max_width=60, overflow="ellipsis", no_wrap=True)
    for endpoint in endpoints:
        status = Text(endpoint["status"], style=STATUS_STYLES.get(endpoint["status"], ""))
        extra = [endpoint.get("failure_reason") or ""] if reasons else []
        rows: list[list[RenderableType]] = [
            [
                variant["variant"] + (" (shadow)" if variant.get("shadow") else ""),
                f"{len(variant['instances'])}/{variant['desired_instance_count']}",
                "  ".join(_instance(instance) for instance in variant["instances"]),
            ]
            for variant in endpoint["variants"]
        ] or [["", "0", ""]]
        for i, row in enumerate(rows):
            first = i == 0
            table.add_row(
                endpoint["name"] if first else "",
                status if first else "",
                *row,
                *(extra if first else []),
            )
    return table


def _instance(instance: Mapping[str, Any]) -> str:
    processes = ", ".join(
        f"{p['pid']}:{p['port']}" + ("" if p["alive"] else " (gone)") for p in instance["processes"]
    )
    return f"{instance['id']} {processes}"


def _processes(processes: Mapping[str, Any]) -> Table:
    rows: list[tuple[str, RenderableType]] = []
    for key, name in PROCESS_NAMES.items():
        group = processes[key]
        owners = "; ".join(
            f"{o['name']} (pid {', '.join(str(p) for p in o['pids'])})" for o in group["by_owner"]
        )
        rows.append((name, f"{group['count']}" + (f"  {owners}" if owners else "")))
    return _grid(rows, indent=True)


def _disk(disk: Mapping[str, Any]) -> Table:
    rows: list[tuple[str, RenderableType]] = [
        (f"{name}/", size(used)) for name, used in disk["parts"].items()
    ]
    if disk.get("database") is not None:
        rows.append(("database", size(disk["database"])))
    return _grid(rows, indent=True)
