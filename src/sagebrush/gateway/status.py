"""What ``GET /_sagebrush/status`` reports: what the server holds and what it runs now.

Everything here blocks (database queries, ``/proc``, walking the home's directories), so
:func:`snapshot` runs on a worker thread; the handler in ``internal.py`` only awaits it.
The fields are described in ``docs/operations.md`` ("sagebrush status").
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

from sagebrush import __version__
from sagebrush.jobs.endpoints.status import KIND as ENDPOINT
from sagebrush.jobs.training.status import KIND as TRAINING_JOB
from sagebrush.jobs.transform.status import KIND as TRANSFORM_JOB
from sagebrush.jobs.tuning.status import KIND as TUNING_JOB
from sagebrush.services.base import Runtime
from sagebrush.services.sagemaker.endpoint_configs import KIND as ENDPOINT_CONFIG
from sagebrush.services.sagemaker.models import KIND as MODEL
from sagebrush.state.resources import Resource, ResourceStore

Live = dict[int, list[dict[str, Any]]]  # the endpoint controller's live view, by record id

# The resource kinds reported, under the names the JSON uses (always present, maybe empty).
RESOURCE_KINDS = {
    TRAINING_JOB: "training_jobs",
    TRANSFORM_JOB: "transform_jobs",
    TUNING_JOB: "tuning_jobs",
    ENDPOINT: "endpoints",
    MODEL: "models",
    ENDPOINT_CONFIG: "endpoint_configs",
}
# The parts of the home whose disk use is reported, in the order they are walked.
HOME_PARTS = ("objects", "jobs", "transform", "endpoints", "venvs", "images")


def snapshot(runtime: Runtime) -> dict[str, Any]:
    """The whole status document (blocking: call it on a worker thread)."""
    settings = runtime.settings
    store = ResourceStore(runtime.db)
    usage = runtime.objects.usage()
    live = runtime.endpoints.live_view() if runtime.endpoints is not None else {}
    records = store.unfinished(ENDPOINT, terminal=())  # every endpoint: none is "finished"
    return {
        "version": __version__,
        "uptime_seconds": round(time.time() - runtime.started_at, 3),
        "home": str(settings.home),
        "database": runtime.db.engine.url.render_as_string(hide_password=True),
        "objects_dir": str(settings.objects_dir),
        "account_id": settings.account_id,
        "region": settings.region,
        "signature_verification": settings.verify_signatures,
        "s3": {"buckets": usage.buckets, "objects": usage.objects, "bytes": usage.bytes},
        "resources": resources(store),
        "endpoints": endpoints(records, live),
        "processes": processes(runtime, {r.id: r.name for r in records}, live),
        "disk": disk(settings.home, _database_file(runtime)),
        "console": None,  # the web console's URL, once there is one
    }


def resources(store: ResourceStore) -> dict[str, dict[str, int]]:
    """Count of each kind by status, over every account and region (one GROUP BY)."""
    found: dict[str, dict[str, int]] = {name: {} for name in RESOURCE_KINDS.values()}
    for kind, status, count in store.count_by_status():
        name = RESOURCE_KINDS.get(kind)
        if name is not None:
            found[name][status] = count
    return found


def endpoints(records: list[Resource], live: Live) -> list[dict[str, Any]]:
    """Every endpoint (all accounts), oldest first, with the instances that run for it."""
    out = []
    for record in records:
        variants = live.get(record.id, [])
        entry: dict[str, Any] = {
            "name": record.name,
            "account_id": record.account_id,
            "region": record.region,
            "status": record.status,
            "instance_count": sum(len(v["instances"]) for v in variants),
            "variants": variants,
        }
        if record.facts.get("failure_reason"):
            entry["failure_reason"] = record.facts["failure_reason"]
        out.append(entry)
    return out


def processes(runtime: Runtime, names: dict[int, str], live: Live) -> dict[str, Any]:
    """The instance processes the server runs now (each alive), by what they serve."""
    training = runtime.training.instance_pids() if runtime.training is not None else []
    transform = runtime.transform.instance_pids() if runtime.transform is not None else []
    serving = []
    for rid, variants in live.items():
        pids = [
            p["pid"] for v in variants for i in v["instances"] for p in i["processes"] if p["alive"]
        ]
        if pids:  # an endpoint being deleted may have lost its record already
            serving.append((names.get(rid, f"(deleted #{rid})"), pids))
    groups = {
        "training": _group(training),
        "endpoints": _group(serving),
        "transform": _group(transform),
    }
    return {"count": sum(g["count"] for g in groups.values()), **groups}


def _group(owners: list[tuple[str, list[int]]]) -> dict[str, Any]:
    pids = [pid for _, found in owners for pid in found]
    return {
        "count": len(pids),
        "pids": sorted(pids),
        "by_owner": [{"name": name, "pids": sorted(found)} for name, found in owners],
    }


def disk(home: Path, database: Path | None) -> dict[str, Any]:
    """Bytes on disk (allocated blocks, as ``du`` counts) of each part of the home and of
    the database file with its WAL; a file hard-linked in several parts counts once, in the
    first walked (objects first). ``database`` is None when it is not a local file."""
    seen: set[tuple[int, int]] = set()
    parts = {name: _walk(home / name, seen) for name in HOME_PARTS}
    db_bytes: int | None = None
    if database is not None:
        db_bytes = sum(
            _file_bytes(Path(f"{database}{suffix}"), seen) for suffix in ("", "-wal", "-shm")
        )
    total = sum(parts.values()) + (db_bytes or 0)
    return {"parts": parts, "database": db_bytes, "total": total}


def _walk(root: Path, seen: set[tuple[int, int]]) -> int:
    """Allocated bytes under ``root`` without following symbolic links; entries that vanish
    while walked (a job cleaning up) are skipped."""
    total = 0
    stack = [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
                    total += _allocated(info, seen)
        except OSError:
            continue
    return total


def _file_bytes(path: Path, seen: set[tuple[int, int]]) -> int:
    try:
        return _allocated(path.lstat(), seen)
    except OSError:
        return 0


def _allocated(info: os.stat_result, seen: set[tuple[int, int]]) -> int:
    if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
        key = (info.st_dev, info.st_ino)
        if key in seen:
            return 0
        seen.add(key)
    return int(info.st_blocks) * 512


def _database_file(runtime: Runtime) -> Path | None:
    url = runtime.db.engine.url
    if not url.drivername.startswith("sqlite") or not url.database:
        return None
    if url.database == ":memory:":
        return None
    return Path(url.database)
