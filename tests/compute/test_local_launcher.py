"""LocalLauncher: process groups, log files, signals, adoption by a second launcher."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sagebrush.compute import Handle, LaunchSpec, LocalLauncher
from sagebrush.compute.base import UNKNOWN_EXIT


def _spec(tmp_path: Path, code: str) -> LaunchSpec:
    return LaunchSpec(
        name="job/algo-1",
        argv=[sys.executable, "-c", code],
        env={},
        cwd=tmp_path,
        log_path=tmp_path / "algo-1.log",
    )


def _wait(launcher: LocalLauncher, handle: Handle, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while (code := launcher.poll(handle)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return code


def test_exit_status_and_output_in_the_log_file(tmp_path: Path) -> None:
    launcher = LocalLauncher()
    handle = launcher.launch(_spec(tmp_path, "import sys; print('hi'); sys.exit(3)"))
    assert _wait(launcher, handle) == 3
    assert (tmp_path / "algo-1.log").read_text() == "hi\n"


def test_terminate_reaches_the_whole_process_group(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open('child.pid', 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    launcher = LocalLauncher()
    handle = launcher.launch(_spec(tmp_path, code))
    pid_file = tmp_path / "child.pid"
    # The file exists before its write lands: wait for the number itself.
    while not (pid_file.exists() and pid_file.read_text().strip()):
        time.sleep(0.02)
    child = int(pid_file.read_text())
    launcher.terminate(handle)
    assert _wait(launcher, handle) != 0
    deadline = time.monotonic() + 5
    while (
        Path(f"/proc/{child}").exists()
        and "Z" not in Path(f"/proc/{child}/stat").read_text().split()[2]
    ):
        assert time.monotonic() < deadline, "the leader's child survived"
        time.sleep(0.02)


def test_another_launcher_adopts_a_running_instance(tmp_path: Path) -> None:
    first = LocalLauncher()
    handle = first.launch(_spec(tmp_path, "import time; time.sleep(0.5)"))
    second = LocalLauncher()  # a restarted server: the process is not its child
    assert second.adopt(Handle.from_json(handle.to_json()))
    assert second.poll(handle) is None
    _wait(first, handle)  # reap it (the first server is still "alive" in this test)
    assert second.poll(handle) == UNKNOWN_EXIT
    assert not second.adopt(handle)
    reused = Handle(handle.launcher, handle.pid, handle.start_ticks + 1, handle.name)
    assert not second.adopt(reused)


def test_alive_looks_without_reaping(tmp_path: Path) -> None:
    launcher = LocalLauncher()
    handle = launcher.launch(_spec(tmp_path, "import sys, time; time.sleep(0.3); sys.exit(4)"))
    assert launcher.alive(handle)
    deadline = time.monotonic() + 10
    while launcher.alive(handle):  # an exited child not yet reaped is a zombie: not alive
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert _wait(launcher, handle) == 4  # alive() left the exit status for poll()
    assert not launcher.alive(handle)
    reused = Handle(handle.launcher, handle.pid, handle.start_ticks + 1, handle.name)
    assert not launcher.alive(reused)
