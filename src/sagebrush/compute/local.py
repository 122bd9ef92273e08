"""Instances as local processes, each the leader of its own process group.

The process writes to a log file, not a pipe, so it outlives a server that dies under it
and its output is not lost: a restarted server adopts it and goes on reading the file.
Signals go to the whole group, so whatever the user's code spawned stops with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from pathlib import Path

from sagebrush.compute.base import UNKNOWN_EXIT, Handle, Launcher, LaunchSpec


class LocalLauncher(Launcher):
    name = "local"

    def __init__(self) -> None:
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def launch(self, spec: LaunchSpec) -> Handle:
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with spec.log_path.open("ab", buffering=0) as log:
            child = subprocess.Popen(
                list(spec.argv),
                env=dict(spec.env),
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        with self._lock:
            self._children[child.pid] = child
        return Handle(self.name, child.pid, start_ticks(child.pid) or 0, spec.name)

    def poll(self, handle: Handle) -> int | None:
        with self._lock:
            child = self._children.get(handle.pid)
        if child is not None:
            code = child.poll()
            if code is not None:
                with self._lock:
                    self._children.pop(handle.pid, None)
            return code
        return None if _same_process(handle) else UNKNOWN_EXIT

    def terminate(self, handle: Handle) -> None:
        self._signal(handle, signal.SIGTERM)

    def kill(self, handle: Handle) -> None:
        self._signal(handle, signal.SIGKILL)

    def adopt(self, handle: Handle) -> bool:
        return _same_process(handle)

    def alive(self, handle: Handle) -> bool:
        return _same_process(handle)  # an exited child not yet reaped is a zombie: not alive

    def _signal(self, handle: Handle, sig: signal.Signals) -> None:
        # The group outlives its leader when the user's code left children behind: signal
        # it even once the leader is gone, unless the pid was reused by another group.
        with self._lock:
            ours = handle.pid in self._children
        if ours or _same_process(handle) or not _pid_exists(handle.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(handle.pid, sig)


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has finished
        return None
    return int(fields[19])


def _same_process(handle: Handle) -> bool:
    ticks = start_ticks(handle.pid)
    return ticks is not None and ticks == handle.start_ticks


def _pid_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()
