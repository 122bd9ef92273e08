"""``sagebrush status`` drawn from a canned status document (as the server answers it)."""

from __future__ import annotations

import copy
import re
from typing import Any

from sagebrush.cli._format import size
from sagebrush.cli.status import render_text

URL = "http://127.0.0.1:4510"


def document() -> dict[str, Any]:
    return {
        "version": "0.1.0",
        "uptime_seconds": 3725.2,
        "home": "/srv/sagebrush",
        "database": "sqlite:////srv/sagebrush/sagebrush.db",
        "objects_dir": "/srv/sagebrush/objects",
        "account_id": "000000000000",
        "region": "us-east-1",
        "signature_verification": False,
        "s3": {"buckets": 2, "objects": 5, "bytes": 3 * 1024 * 1024},
        "resources": {
            "training_jobs": {"Completed": 3, "Failed": 1, "InProgress": 1},
            "transform_jobs": {},
            "tuning_jobs": {},
            "endpoints": {"InService": 1, "Failed": 1},
            "models": {"Created": 2},
            "endpoint_configs": {"Created": 2},
        },
        "endpoints": [
            {
                "name": "ep-live",
                "account_id": "000000000000",
                "region": "us-east-1",
                "status": "InService",
                "instance_count": 2,
                "variants": [
                    {
                        "variant": "AllTraffic",
                        "fleet": "f-1",
                        "shadow": False,
                        "desired_instance_count": 2,
                        "instances": [
                            {
                                "id": "i-aaaa",
                                "inflight": 0,
                                "retired": False,
                                "processes": [
                                    {"container": "c1", "pid": 101, "port": 9001, "alive": True}
                                ],
                            },
                            {
                                "id": "i-bbbb",
                                "inflight": 0,
                                "retired": False,
                                "processes": [
                                    {"container": "c1", "pid": 102, "port": 9002, "alive": False}
                                ],
                            },
                        ],
                    }
                ],
            },
            {
                "name": "ep-broken",
                "account_id": "000000000000",
                "region": "us-east-1",
                "status": "Failed",
                "instance_count": 0,
                "variants": [],
                "failure_reason": "ping failed",
            },
        ],
        "processes": {
            "count": 2,
            "training": {"count": 1, "pids": [55], "by_owner": [{"name": "job-a", "pids": [55]}]},
            "endpoints": {
                "count": 1,
                "pids": [101],
                "by_owner": [{"name": "ep-live", "pids": [101]}],
            },
            "transform": {"count": 0, "pids": [], "by_owner": []},
        },
        "disk": {
            "parts": {"objects": 4 * 1024 * 1024, "jobs": 2048, "venvs": 0},
            "database": 512 * 1024,
            "total": 4 * 1024 * 1024 + 2048 + 512 * 1024,
        },
        "console": None,
    }


def test_sections_show_resources_endpoints_processes_and_disk() -> None:
    text = render_text(document(), URL)
    assert "\x1b" not in text
    lines = text.splitlines()
    assert re.match(rf"^server\s+{URL} \(version 0.1.0, up 1h 02m 05s\)$", lines[0])
    assert re.search(r"^S3\s+2 buckets, 5 objects, 3.0 MiB$", text, re.MULTILINE)
    assert re.search(r"^  training jobs\s+3 Completed, 1 Failed, 1 InProgress$", text, re.MULTILINE)
    assert re.search(r"^  transform jobs\s+none$", text, re.MULTILINE)
    assert re.search(r"^  endpoints\s+1 Failed, 1 InService$", text, re.MULTILINE)
    live = next(line for line in lines if "ep-live" in line and "AllTraffic" in line)
    assert re.search(r"InService.*AllTraffic.*2/2.*i-aaaa 101:9001  i-bbbb 102:9002 \(gone\)", live)
    broken = next(line for line in lines if "ep-broken" in line)
    assert "Failed" in broken and "ping failed" in broken
    assert "Processes: 2 running" in lines
    assert re.search(r"^  training\s+1  job-a \(pid 55\)$", text, re.MULTILINE)
    assert re.search(r"^  transform\s+0$", text, re.MULTILINE)
    assert "Disk: 4.5 MiB" in lines
    assert re.search(r"^  jobs/\s+2.0 KiB$", text, re.MULTILINE)
    assert re.search(r"^  database\s+512.0 KiB$", text, re.MULTILINE)
    assert "console" not in text


def test_console_is_shown_once_there_is_one() -> None:
    data = document()
    data["console"] = "http://127.0.0.1:4510/console"
    assert re.search(r"^console\s+http://127.0.0.1:4510/console$", render_text(data, URL), re.M)


def test_no_endpoints_and_a_remote_database() -> None:
    data = document()
    data["endpoints"] = []
    data["disk"]["database"] = None
    text = render_text(data, URL)
    assert re.search(r"^Endpoints\n  none$", text, re.MULTILINE)
    assert "database  " not in text.split("Disk:")[1]


def test_an_older_server_shows_its_first_section_only() -> None:
    data = copy.deepcopy(document())
    for key in ("resources", "endpoints", "processes", "disk", "console"):
        del data[key]
    text = render_text(data, URL)
    assert "S3" in text and "Resources" not in text


def test_sizes() -> None:
    assert [size(n) for n in (0, 1023, 1024, 5 * 1024**3)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "5.0 GiB",
    ]
