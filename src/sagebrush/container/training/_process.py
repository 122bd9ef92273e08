"""Running the user's process as the toolkit does: streamed, signalled, its errors kept.

The child gets a process group of its own so that a SIGTERM sent to the toolkit (or to the
toolkit's group, as the launcher does) is passed on to everything the user's program started
(torchrun workers, shell pipelines) exactly once. A watchdog in that group kills it when the
toolkit dies, even by SIGKILL: a container's "PID 1 exits, everything exits".
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

from sagebrush.container.training._errors import CalledProcessError, ExecuteUserScriptError

_KEPT_LINES = 1000
_FALLBACK_LINES = 10
_DRAIN_SECONDS = 5.0

# The toolkit starts the error message at the first line naming a Python exception class.
PYTHON_ERRORS = tuple(
    name
    for name in dir(builtins)
    if ("Error" in name or "Exception" in name)
    and isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), BaseException)
)


@dataclass(frozen=True)
class Completed:
    returncode: int  # negative signal numbers already mapped to 128 + N, as a shell reports
    error_message: str


class _State:
    child: subprocess.Popen[bytes] | None = None
    terminated: bool = False


def install_signal_forwarding() -> None:
    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)


def terminated() -> bool:
    """Whether the toolkit was asked to stop (SIGTERM/SIGINT) while a child ran."""
    return _State.terminated


def _forward(signum: int, _frame: FrameType | None) -> None:
    _State.terminated = True
    child = _State.child
    if child is not None and child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signum)


def run(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str,
) -> Completed:
    """Run ``cmd`` to completion, stdout passed straight through and stderr teed."""
    child = subprocess.Popen(
        list(cmd),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        process_group=0,
    )
    _State.child = child
    if _State.terminated:  # a stop that arrived while the child was being started
        _forward(signal.SIGTERM, None)
    watchdog = _watchdog(child.pid)
    assert child.stderr is not None
    tail: collections.deque[str] = collections.deque(maxlen=_KEPT_LINES)
    reader = threading.Thread(target=_tee, args=(child.stderr.fileno(), tail), daemon=True)
    reader.start()
    try:
        code = child.wait()
    finally:
        _State.child = None
        # Like a container's exit: nothing the program left behind in its group outlives it
        # (and a straggler holding stderr open would otherwise keep the reader waiting).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        reader.join(timeout=_DRAIN_SECONDS)
        if watchdog is not None:
            os.close(watchdog[1])
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog[0].wait(timeout=_DRAIN_SECONDS)
        if not reader.is_alive():
            child.stderr.close()
    return Completed(128 - code if code < 0 else code, error_message(list(tail)))


def _watchdog(pgid: int) -> tuple[subprocess.Popen[bytes], int] | None:
    """Kill group ``pgid`` when the toolkit dies, even by SIGKILL.

    Returns the watchdog and the lifeline (the pipe's write end) to close once done.

    A shell in the child's group blocks reading a pipe only the toolkit holds open; when the
    toolkit goes away the read returns and the shell kills its whole group. The user's
    program does not inherit the pipe (descriptors are closed on exec).
    """
    read_end, write_end = os.pipe()
    try:
        watchdog = subprocess.Popen(
            ["/bin/sh", "-c", "read _ignored; kill -9 0"],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=pgid,
        )
    except OSError:  # the group already vanished, or no shell: nothing to guard
        os.close(write_end)
        return None
    finally:
        os.close(read_end)
    return watchdog, write_end


def raise_for(
    done: Completed,
    cmd: Sequence[str],
    error_class: type[CalledProcessError] = ExecuteUserScriptError,
) -> None:
    if done.returncode == 0:
        return
    info = "OutOfMemory: Process killed by SIGKILL (signal 9)" if done.returncode == 137 else None
    raise error_class(" ".join(cmd), done.returncode, done.error_message, info)


def _tee(fd: int, tail: collections.deque[str]) -> None:
    out = sys.stderr.buffer
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        # Forward as it arrives: progress bars redraw with "\r" and never end a line.
        out.write(chunk)
        out.flush()
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        tail.extend(line.decode("utf-8", "replace") for line in lines)
        if len(pending) > 65536:
            tail.append(pending.decode("utf-8", "replace"))
            pending = b""
    if pending:
        tail.append(pending.decode("utf-8", "replace"))


def error_message(lines: list[str]) -> str:
    """The toolkit's ErrorMessage: stderr from the first line naming an exception class.

    When no such line exists the toolkit reports nothing; the last lines of stderr are
    reported instead, which says more about a crashed shell script or a killed process.
    """
    start = next(
        (i for i, line in enumerate(lines) if any(err in line for err in PYTHON_ERRORS)), None
    )
    picked = lines[start:] if start is not None else lines[-_FALLBACK_LINES:]
    kept = dict.fromkeys(line.strip(" :\r\n") for line in picked)
    kept.pop("", None)
    return "\n ".join(kept)
