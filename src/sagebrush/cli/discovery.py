"""How clients find the server of a data directory: ``<home>/server.json`` and the SDK config.

``serve`` writes both; ``env`` and ``status`` read them. The SDK config file names the
default bucket (so ``default_bucket()`` skips its hard-coded STS endpoint), opts out of
telemetry and gives default role ARNs. ``env`` also enables the SDK accelerator
(``sagebrush.sdkboot``, ``docs/sdk.md``): ``SAGEBRUSH_URL`` and its boot directory first on
``PYTHONPATH``, which routes the SDK's other STS calls here and cuts its wait loops' sleeps.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import botocore.session

from sagebrush.config import DEFAULT_ACCESS_KEY, Settings, load_settings
from sagebrush.sdkboot import BOOT_DIR

SERVER_FILE = "server.json"
SDK_CONFIG_FILE = "sagemaker-config.yaml"
DEFAULT_ROLE_NAME = "SagebrushExecutionRole"


@dataclass(frozen=True)
class ServerInfo:
    url: str
    host: str
    port: int
    pid: int
    region: str
    account_id: str

    @classmethod
    def for_settings(cls, settings: Settings, port: int) -> ServerInfo:
        host = settings.host
        shown = "127.0.0.1" if host in {"0.0.0.0", ""} else host
        if ":" in shown:
            shown = f"[{shown}]"
        return cls(
            url=f"http://{shown}:{port}",
            host=host,
            port=port,
            pid=os.getpid(),
            region=settings.region,
            account_id=settings.account_id,
        )


def default_bucket(settings: Settings) -> str:
    return f"sagemaker-{settings.region}-{settings.account_id}"


def role_arn(settings: Settings) -> str:
    return f"arn:aws:iam::{settings.account_id}:role/{DEFAULT_ROLE_NAME}"


def record_server(settings: Settings, info: ServerInfo) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    _write_atomic(settings.home / SERVER_FILE, json.dumps(asdict(info), indent=2))
    write_sdk_config(settings)


def forget_server(settings: Settings, info: ServerInfo) -> None:
    path = settings.home / SERVER_FILE
    current = read_server(settings.home)
    if current is not None and current.pid == info.pid:
        path.unlink(missing_ok=True)


def read_server(home: Path) -> ServerInfo | None:
    """The server recorded for ``home``, if its process is still alive (a server killed with
    SIGKILL leaves its record behind)."""
    try:
        info = ServerInfo(**json.loads((home / SERVER_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user
    return info


def write_sdk_config(settings: Settings) -> Path:
    """Write the sagemaker SDK's user config (JSON, which is valid YAML)."""
    role = role_arn(settings)
    config = {
        "SchemaVersion": "1.0",
        "SageMaker": {
            "PythonSDK": {
                "Modules": {
                    "Session": {"DefaultS3Bucket": default_bucket(settings)},
                    "TelemetryOptOut": True,
                }
            },
            "TrainingJob": {"RoleArn": role},
            "ProcessingJob": {"RoleArn": role},
            "Model": {"ExecutionRoleArn": role},
            "CompilationJob": {"RoleArn": role},
            "AutoMLJob": {"RoleArn": role},
            "Pipeline": {"RoleArn": role},
        },
    }
    path = settings.home / SDK_CONFIG_FILE
    settings.home.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(config, indent=2))
    return path


def export_lines(settings: Settings, info: ServerInfo) -> list[str]:
    secret = settings.credentials.get(DEFAULT_ACCESS_KEY)
    key, secret = (
        (DEFAULT_ACCESS_KEY, secret)
        if secret is not None
        else next(iter(settings.credentials.items()))
    )
    values = {
        "AWS_ENDPOINT_URL": info.url,
        "AWS_DEFAULT_REGION": info.region,
        "AWS_REGION": info.region,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(settings.home / SDK_CONFIG_FILE),
        # The SDK's own switch for its "You are using the SageMaker Python SDK v2" banner.
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        # The sagemaker SDK accelerator's server (docs/sdk.md); SAGEBRUSH_SDK_HOOK=0 turns
        # it off.
        "SAGEBRUSH_URL": info.url,
    }
    lines = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    # Its sitecustomize, ahead of any PYTHONPATH the shell already has.
    lines.append(f'export PYTHONPATH={shlex.quote(str(BOOT_DIR))}"{PYTHONPATH_TAIL}"')
    return lines


# Appended to the boot directory in the PYTHONPATH export line: the shell's existing value.
PYTHONPATH_TAIL = "${PYTHONPATH:+:$PYTHONPATH}"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def server_client(home: str | None, service: str) -> tuple[Any, ServerInfo]:
    """A botocore client of ``service`` for this home's server (the one it recorded, else
    where one would listen by default), signed with the home's first credentials."""
    settings = load_settings(home=home)
    info = read_server(settings.home) or ServerInfo.for_settings(settings, settings.port)
    key = (
        DEFAULT_ACCESS_KEY
        if DEFAULT_ACCESS_KEY in settings.credentials
        else next(iter(settings.credentials))
    )
    client = botocore.session.get_session().create_client(
        service,
        endpoint_url=info.url,
        region_name=info.region,
        aws_access_key_id=key,
        aws_secret_access_key=settings.credentials[key],
    )
    return client, info
