"""``sagebrush env``'s boot directory in fresh interpreters: its ``sitecustomize`` installs
the accelerator, which patches a stand-in sagemaker SDK as it is imported (waits cut on a
Sagebrush session only, STS routed, the switch honoured), chains to the ``sitecustomize``
it hides, and never breaks Python. Also under Python 3.9 where one is installed: the boot
directory runs in users' own environments."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sagebrush.sdkboot import BOOT_DIR

SERVER = "http://127.0.0.1:4510"

# The shape of the SDK's code that matters: `import time` and sleep-before-describe loops,
# the 30 s Describe gate of log tailing, an explicitly built STS URL.
FAKE_SDK = {
    "sagemaker/__init__.py": "",
    "sagemaker/utils.py": """
def sts_regional_endpoint(region):
    return "https://sts.%s.amazonaws.com" % region
""",
    "sagemaker/session.py": """
import time
from sagemaker.utils import sts_regional_endpoint


class Meta:
    def __init__(self, url):
        self.endpoint_url = url


class Client:
    def __init__(self, url):
        self.meta = Meta(url)
        self.describes = 0

    def describe(self):
        self.describes += 1
        return "Completed" if self.describes >= 3 else None


class Session:
    def __init__(self, url):
        self.sagemaker_client = Client(url)

    def wait_for_job(self, job, poll=5):
        return _wait_until(self.sagemaker_client.describe, poll)

    def logs_for_job(self, job_name, wait=False, poll=10, log_type="All", timeout=None):
        return _logs_for_job(self, job_name, wait, poll, log_type, timeout)

    def account_id(self):
        return sts_regional_endpoint("us-east-1")

    def nap(self, seconds):
        time.sleep(seconds)


def _wait_until(callable_fn, poll=5):
    result = None
    while result is None:
        time.sleep(poll)
        result = callable_fn()
    return result


def _logs_for_job(sagemaker_session, job_name, wait=False, poll=10, log_type="All",
                  timeout=None):
    request_end_time = time.time() + timeout if timeout else None
    last_describe_job_call = time.time()
    describes = 0
    while True:
        if timeout and time.time() > request_end_time:
            return "timeout", describes
        time.sleep(poll)
        if time.time() - last_describe_job_call >= 30:
            describes += 1
            last_describe_job_call = time.time()
            if describes == 2:
                return "done", describes
""",
    "sagemaker/core/__init__.py": "",
    "sagemaker/core/resources.py": """
import time


class Endpoint:
    def __init__(self, client):
        self.client = client

    def _get_client(self):
        return self.client

    def wait_for_delete(self, poll=5, timeout=None):
        start_time = time.time()
        while self.client.describe() is None:
            if timeout is not None and time.time() - start_time >= timeout:
                raise TimeoutError()
            time.sleep(poll)
""",
}

SCRIPT = r"""
import json, os, sys, time
from sagemaker.session import Session
from sagemaker.core.resources import Endpoint

def timed(call):
    begin = time.perf_counter()
    value = call()
    return round(time.perf_counter() - begin, 3), value

here = Session(os.environ["SAGEBRUSH_URL"])
elsewhere = Session("https://sagemaker.us-east-1.amazonaws.com")
result = {
    "hooked": "sagebrush_sdk_hook" in sys.modules,
    "wait_here": timed(lambda: here.wait_for_job("j", poll=0.5))[0],
    "sts_here": here.account_id(),
    "ran_other_sitecustomize": os.environ.get("OTHER_SITECUSTOMIZE_RAN"),
}
if sys.argv[1:] != ["brief"]:  # the log tail takes 60 s unpatched
    here_too = Session(os.environ["SAGEBRUSH_URL"])
    result["wait_elsewhere"] = timed(lambda: elsewhere.wait_for_job("j", poll=0.5))[0]
    result["logs_here"] = timed(lambda: here_too.logs_for_job("j", True))
    result["logs_with_timeout"] = timed(
        lambda: Session(os.environ["SAGEBRUSH_URL"]).logs_for_job("j", True, 0.2, "All", 0.5))
    result["nap"] = timed(lambda: here.nap(0.3))[0]
    endpoint = Endpoint(Session(os.environ["SAGEBRUSH_URL"]).sagemaker_client)
    result["resource_wait"] = timed(lambda: endpoint.wait_for_delete(poll=0.5))[0]
    result["sts_elsewhere"] = elsewhere.account_id()
print("RESULT " + json.dumps(result))
"""


def _interpreters() -> list[str]:
    found = [sys.executable]
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates = [shutil.which("python3.9"), *map(str, pyenv.glob("3.9*/bin/python3.9"))]
    for older in filter(None, candidates):  # a pyenv shim may name no installed version
        probe = [older, "-c", "import sys; print(sys.executable)"]
        proc = subprocess.run(probe, capture_output=True, text=True, check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return [*found, proc.stdout.strip()]  # its real path: shims need more env
    return found


@pytest.fixture
def sdk(tmp_path: Path) -> Path:
    root = tmp_path / "sdk"
    for name, text in FAKE_SDK.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "script.py").write_text(SCRIPT)
    return root


BRIEF = "script.py brief"


def _run(
    python: str, cwd: Path, pythonpath: list[Path], command: str = "script.py", **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath),
        "SAGEBRUSH_URL": SERVER,
        **env,
    }
    return subprocess.run(
        [python, *command.split()],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def _result(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    result: dict[str, object] = json.loads(line[len("RESULT ") :])
    return result


@pytest.mark.parametrize("python", _interpreters())
def test_the_hook_cuts_waits_and_routes_sts_of_a_sagebrush_session(
    python: str, sdk: Path, tmp_path: Path
) -> None:
    result = _result(_run(python, tmp_path, [BOOT_DIR, sdk]))
    assert result["hooked"] is True
    # Three polls of 0.5 s: cut for Sagebrush (to 0.05 s), as the SDK asked elsewhere.
    assert result["wait_here"] < 0.45  # type: ignore[operator]
    assert result["wait_elsewhere"] >= 1.5  # type: ignore[operator]
    # Two Describes 30 s apart on the SDK's clock (60 s unpatched) in six cut sleeps.
    seconds, outcome = result["logs_here"]  # type: ignore[misc]
    assert outcome == ["done", 2] and seconds < 2.5
    # Given a timeout, the tail keeps the real clock: it times out after 0.5 s, at 0.6 s.
    seconds, outcome = result["logs_with_timeout"]  # type: ignore[misc]
    assert outcome == ["timeout", 0] and seconds >= 0.5
    assert result["nap"] >= 0.3  # type: ignore[operator]  # not a wait: the SDK's own sleep
    assert result["resource_wait"] < 0.45  # type: ignore[operator]
    assert result["sts_here"] == SERVER
    assert result["sts_elsewhere"] == "https://sts.us-east-1.amazonaws.com"


def test_switched_off_the_sdk_is_left_alone(sdk: Path, tmp_path: Path) -> None:
    result = _result(
        _run(sys.executable, tmp_path, [BOOT_DIR, sdk], BRIEF, SAGEBRUSH_SDK_HOOK="off")
    )
    assert result["hooked"] is False
    assert result["wait_here"] >= 1.5  # type: ignore[operator]
    assert result["sts_here"] == "https://sts.us-east-1.amazonaws.com"


def test_a_hook_installed_after_the_sdk_patches_it_then(sdk: Path, tmp_path: Path) -> None:
    (tmp_path / "late.py").write_text(
        "import os, time, sys\n"
        "from sagemaker.session import Session\n"
        f"sys.path.insert(0, {str(BOOT_DIR)!r})\n"
        "import sagebrush_sdk_hook\n"
        "os.environ['SAGEBRUSH_URL'] = 'http://localhost:4510'\n"
        "assert sagebrush_sdk_hook.install()\n"
        "begin = time.perf_counter()\n"
        "Session('http://127.0.0.1:4510').wait_for_job('j', poll=0.5)\n"
        "print('RESULT', round(time.perf_counter() - begin, 3))\n"
    )
    proc = _run(sys.executable, tmp_path, [sdk], "late.py", SAGEBRUSH_URL="")
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split()[-1]) < 0.45


def test_the_hidden_sitecustomize_still_runs(sdk: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text(
        "import os\nos.environ['OTHER_SITECUSTOMIZE_RAN'] = os.environ.get("
        "'OTHER_SITECUSTOMIZE_RAN', '') + 'x'\n"
    )
    # Twice on the path (env evaluated twice): still run once, no loop.
    result = _result(_run(sys.executable, tmp_path, [BOOT_DIR, BOOT_DIR, sdk, other], BRIEF))
    assert result["ran_other_sitecustomize"] == "x"
    assert result["hooked"] is True
    off = _result(
        _run(sys.executable, tmp_path, [BOOT_DIR, other, sdk], BRIEF, SAGEBRUSH_SDK_HOOK="0")
    )
    assert off["ran_other_sitecustomize"] == "x"


def test_errors_never_break_python(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    shutil.copy(BOOT_DIR / "sitecustomize.py", boot / "sitecustomize.py")
    (boot / "sagebrush_sdk_hook.py").write_text("raise RuntimeError('broken hook')\n")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "sitecustomize.py").write_text("raise ValueError('broken site')\n")
    (tmp_path / "hello.py").write_text("print('hello')\n")
    proc = _run(sys.executable, tmp_path, [boot, broken], "hello.py")
    assert proc.returncode == 0
    assert proc.stdout == "hello\n"
    # The hidden sitecustomize's own error is reported as Python reports it.
    assert "Error in sitecustomize" in proc.stderr and "broken site" in proc.stderr
    assert "broken hook" not in proc.stderr


def test_start_up_imports_little() -> None:
    importtime = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(BOOT_DIR), "SAGEBRUSH_URL": SERVER},
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    modules = {line.rsplit("|", 1)[-1].strip() for line in importtime.splitlines()}
    assert {"sitecustomize", "sagebrush_sdk_hook"} <= modules
    # What it brings in beyond a bare start-up: nothing heavy (typing, inspect, pathlib...).
    assert not {"typing", "inspect", "pathlib", "functools", "urllib.parse"} & modules


def test_the_boot_directory_imports_only_the_standard_library() -> None:
    offenders = []
    for module in BOOT_DIR.glob("*.py"):
        tree = ast.parse(module.read_text(), feature_version=(3, 9))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in {
                    "__future__",
                    "sagebrush_sdk_hook",
                }:
                    offenders.append(f"{module.name}: {name}")
    assert offenders == []
