"""Instances of a production variant: their model-server processes, health and logs.

An :class:`Instance` is what SageMaker calls an ML instance behind a variant: one process
per container of the model (a pipeline has several), each on its own loopback port, each
writing to a log file that becomes stream ``<variant>/<instance-id>[/<container>]`` of
``/aws/sagemaker/Endpoints/<endpoint>``. Launching blocks until every container answers
``GET /ping`` with 200 (or one exits, or the health-check timeout passes): the caller is a
controller thread, never the event loop. The router only reads the ``upstreams`` and
counts requests in ``inflight``.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagebrush.compute import Handle, Launcher, LaunchSpec
from sagebrush.jobs.endpoints.serving import ContainerPlan, StagingError, link_model
from sagebrush.jobs.endpoints.upstream import Upstream

LOOPBACK = "127.0.0.1"
_TAIL = 2000


class LaunchFailed(Exception):
    """An instance did not come up: the message is the endpoint's FailureReason."""


def new_instance_id() -> str:
    return f"i-{secrets.token_hex(8)}"


@dataclass
class Process:
    hostname: str
    port: int
    handle: Handle
    log_path: Path
    upstream: Upstream

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "port": self.port,
            "handle": self.handle.to_json(),
            "log": str(self.log_path),
        }


@dataclass
class Instance:
    id: str
    fleet: str
    variant: str
    instance_type: str
    directory: Path
    processes: list[Process]
    inflight: int = 0
    # Set when the instance leaves the routing table; new requests never pick it again.
    retired: bool = False
    loaded_models: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fleet": self.fleet,
            "variant": self.variant,
            "instance_type": self.instance_type,
            "dir": str(self.directory),
            "processes": [p.to_json() for p in self.processes],
        }

    def stream(self, process: Process) -> str:
        if len(self.processes) == 1:
            return f"{self.variant}/{self.id}"
        return f"{self.variant}/{self.id}/{process.hostname}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class StagedContainer:
    plan: ContainerPlan
    model_dir: Path | None
    code_dir: Path | None
    interpreter: str = sys.executable  # script mode: a layered venv for requirements.txt


def launch_instance(
    launcher: Launcher,
    *,
    fleet: str,
    variant: str,
    instance_type: str,
    directory: Path,
    containers: Sequence[StagedContainer],
    base_env: Mapping[str, str],
    startup_timeout: float,
    should_abort: Callable[[], bool] = lambda: False,
) -> Instance:
    """Start every container of one instance and wait until all answer /ping."""
    instance_id = new_instance_id()
    root = directory / instance_id
    root.mkdir(parents=True, exist_ok=True)
    processes: list[Process] = []
    try:
        for staged in containers:
            processes.append(_start(launcher, root, instance_id, staged, base_env))
        instance = Instance(instance_id, fleet, variant, instance_type, root, processes)
        wait_healthy(launcher, instance, startup_timeout, should_abort)
        return instance
    except BaseException:
        partial = Instance(instance_id, fleet, variant, instance_type, root, processes)
        stop_instances(launcher, [partial], grace=0)
        raise


def _start(
    launcher: Launcher,
    root: Path,
    instance_id: str,
    staged: StagedContainer,
    base_env: Mapping[str, str],
) -> Process:
    plan = staged.plan
    port = free_port()
    model_dir = staged.model_dir
    workdir = root / plan.hostname
    (workdir / "model").mkdir(parents=True, exist_ok=True)
    if plan.kind == "local-image" and model_dir is not None:
        link_model(model_dir, workdir / "model")
        model_dir = workdir / "model"
    env = dict(base_env)
    env.update(plan.environment)
    env.update(
        SAGEMAKER_BIND_TO_PORT=str(port),
        SAGEMAKER_SAFE_PORT_RANGE=f"{port}-{port}",
        SAGEBRUSH_INSTANCE_ID=instance_id,
    )
    if plan.multi_model:
        env["SAGEMAKER_MULTI_MODEL"] = "true"
    model_path = model_dir if model_dir is not None else workdir / "model"
    argv = plan.command(port, model_path, staged.code_dir, workdir, staged.interpreter)
    log_path = root / f"{plan.hostname}.log"
    handle = launcher.launch(
        LaunchSpec(
            name=f"{instance_id}/{plan.hostname}",
            argv=argv,
            env=env,
            cwd=workdir,
            log_path=log_path,
        )
    )
    return Process(plan.hostname, port, handle, log_path, Upstream(LOOPBACK, port))


def wait_healthy(
    launcher: Launcher,
    instance: Instance,
    timeout: float,
    should_abort: Callable[[], bool] = lambda: False,
) -> None:
    deadline = time.monotonic() + timeout
    pending = list(instance.processes)
    delay = 0.02
    while pending:
        for process in list(pending):
            code = launcher.poll(process.handle)
            if code is not None:
                raise LaunchFailed(
                    f"The container {process.hostname} of instance {instance.id} exited with "
                    f"status {code} before passing its health check: {log_tail(process.log_path)}"
                )
            if ping(process.port):
                pending.remove(process)
        if not pending:
            return
        if should_abort():
            raise LaunchFailed("The endpoint was deleted while its instances started.")
        if time.monotonic() > deadline:
            names = ", ".join(p.hostname for p in pending)
            raise LaunchFailed(
                f"The primary container for production variant {instance.variant} did not "
                f"pass the ping health check within {timeout:g} seconds ({names}): "
                f"{log_tail(pending[0].log_path)}"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def ping(port: int, timeout: float = 2.0) -> bool:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", "/ping")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def log_tail(path: Path, limit: int = _TAIL) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - limit))
            text = f.read().decode("utf-8", "replace").strip()
    except OSError:
        return "(no output)"
    lines = [line for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-8:])[-limit:] or "(no output)"


def stop_instances(launcher: Launcher, instances: Sequence[Instance], *, grace: float) -> None:
    """SIGTERM every container, then SIGKILL what is left after ``grace`` seconds."""
    processes = [p for i in instances for p in i.processes]
    for process in processes:
        launcher.terminate(process.handle)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if all(launcher.poll(p.handle) is not None for p in processes):
            break
        time.sleep(0.05)
    for process in processes:
        launcher.kill(process.handle)
        launcher.poll(process.handle)


def adopt_instance(launcher: Launcher, data: Mapping[str, Any]) -> Instance | None:
    """The instance a previous server left running, if every container still answers."""
    processes = []
    for p in data.get("processes", []):
        handle = Handle.from_json(p["handle"])
        if not launcher.adopt(handle) or not ping(int(p["port"])):
            return None
        port = int(p["port"])
        processes.append(
            Process(p["hostname"], port, handle, Path(p["log"]), Upstream(LOOPBACK, port))
        )
    if not processes:
        return None
    return Instance(
        str(data["id"]),
        str(data["fleet"]),
        str(data["variant"]),
        str(data.get("instance_type", "")),
        Path(data["dir"]),
        processes,
    )


def kill_recorded(launcher: Launcher, data: Mapping[str, Any]) -> None:
    """Stop whatever is left of a recorded instance (a restart that could not adopt it)."""
    for p in data.get("processes", []):
        handle = Handle.from_json(p["handle"])
        if launcher.adopt(handle):
            launcher.kill(handle)


def base_environment(
    credentials: tuple[str, str], endpoint_url: str, region: str
) -> dict[str, str]:
    """The server's environment minus AWS/SageMaker settings, plus what models need.

    Code in a model reaches this server (its S3, say) with credentials it accepts.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SAGEBRUSH_", "SM_", "SAGEMAKER_"))
    }
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    key, secret = credentials
    env.update(
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        SAGEMAKER_REGION=region,
        PYTHONUNBUFFERED="1",
    )
    return env


__all__ = [
    "Instance",
    "LaunchFailed",
    "Process",
    "StagedContainer",
    "StagingError",
    "adopt_instance",
    "base_environment",
    "kill_recorded",
    "launch_instance",
    "log_tail",
    "ping",
    "stop_instances",
]
