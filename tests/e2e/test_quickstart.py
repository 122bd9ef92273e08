"""A new user's first hour, as a test: a fresh clone, the README's install command run as
written (with the ``clients`` extra), the server it starts, then every shell and Python
snippet of README.md and docs/ and every example, each checked for its exit status and
output, with the network beyond loopback cut off for the clients.

The clone is of this working tree (committed or not), so the test checks what is about to
be committed; in CI the two are the same.
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e._snippets import Snippet, documents, snippets

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = Path(__file__).parent / "offline"
# What the clients' shell starts with for docs/ pages and examples: the README's set-up.
CLIENT_SETUP = 'source .venv/bin/activate && eval "$(sagebrush env)"'

pytestmark = pytest.mark.slow

# A line each example prints when it got to its end, and more it must print on the way.
EXAMPLE_OUTPUT: dict[str, tuple[str, ...]] = {
    "s3_and_sdk_basics.py": (
        "multipart round trip ok",
        "default execution role: arn:aws:iam::000000000000:role/SagebrushExecutionRole",
    ),
    "training_script_mode.py": ("script mode training ok", "validation:accuracy"),
    "builtin_algorithms.py": (
        "built-in algorithms ok",
        "'validation:auc'",
        "'test:msd'",
        "'test:binary_classification_accuracy'",
    ),
    "endpoints.py": (
        "endpoints example ok",
        "TargetVariant=B answered by B",
        "after the update, C answers",
    ),
    "batch_transform.py": (
        "batch transform example ok",
        "first lines (id,probability):\n  customer-02000,",
        "/examples/transform/output/2024/part-1.csv.out",
    ),
    "hyperparameter_tuning.py": (
        "hyperparameter tuning example ok",
        ": 8 trials",
        "warm start: best over both tuning jobs: xgb-",
    ),
}

# Output that is noise to a user, none of which our own code and set-up may cause.
NOISE = (
    "Traceback",
    "SageMakerV2DeprecationWarning",
    "INFO:botocore",
    "Unknown file format",
)


@dataclass
class QuickStart:
    clone: Path
    home: Path
    server_log: Path
    netlog: Path

    def env(self) -> dict[str, str]:
        """A fresh user's shell: no virtualenv active, nothing of the test run's own."""
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            # The clients' Python records any use of the network beyond loopback.
            "PYTHONPATH": str(OFFLINE),
            "SAGEBRUSH_TEST_NETLOG": str(self.netlog),
        }

    def shell(self, script: str, *, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=self.clone,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert not self.netlog.exists(), "network beyond loopback used:\n" + self.netlog.read_text()
        return proc


def _clone(dest: Path) -> Path:
    """This working tree, as a fresh clone plus its uncommitted changes and new files."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True)
    diff = subprocess.run(
        ["git", "diff", "HEAD", "--binary"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    if diff:
        subprocess.run(["git", "apply", "--binary", "-"], cwd=dest, input=diff, check=True)
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, untracked):
        target = dest / name.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name.decode(), target)
    return dest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuickStart]:
    base = tmp_path_factory.mktemp("quickstart")
    clone = _clone(base / "sagebrush")
    (base / "home").mkdir()
    qs = QuickStart(clone, base / "home", base / "server.log", base / "netlog")
    server = [s for s in snippets(clone / "README.md") if s.server]
    assert len(server) == 1, "the README's first command installs and starts the server"
    env = {k: v for k, v in qs.env().items() if not k.startswith(("PYTHONPATH", "SAGEBRUSH_"))}
    env["SAGEBRUSH_PORT"] = str(_free_port())  # not 4510: a developer's server may hold it
    with qs.server_log.open("w") as log:
        process = subprocess.Popen(
            ["bash", "-c", server[0].text],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 900  # the install, then the start
        while "Sagebrush listening on" not in qs.server_log.read_text():
            assert process.poll() is None, "install or start failed:\n" + _tail(qs.server_log)
            assert time.monotonic() < deadline, "no server after 15 min:\n" + _tail(qs.server_log)
            time.sleep(0.5)
        yield qs
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, "the server did not stop cleanly:\n" + _tail(qs.server_log)


def _tail(path: Path, n: int = 6000) -> str:
    return path.read_text()[-n:]


def _run_snippets(qs: QuickStart, found: list[Snippet], preamble: str = "") -> None:
    """Run the snippets in order in one shell (exports carry over, as for a user), each
    announced by a marker line, and check each one's output and the exit status."""
    parts = [preamble] if preamble else []
    for n, snippet in enumerate(found):
        parts.append(f"echo '@@ {snippet.where}'")
        if snippet.language == "python":
            script = qs.clone.parent / f"snippet-{snippet.source.stem}-{n}.py"
            script.write_text(snippet.text)
            parts.append(f"python {script}")
        else:
            parts.append(snippet.text)
    proc = qs.shell("\n".join(parts))
    sections = proc.stdout.split("@@ ")
    where = sections[-1].splitlines()[0] if len(sections) > 1 else "(before the first snippet)"
    assert proc.returncode == 0, f"snippet {where} failed:\n{proc.stdout[-6000:]}"
    outputs = {s.splitlines()[0]: s for s in sections[1:]}
    for snippet in found:
        output = outputs[snippet.where]
        for text in snippet.expect:
            assert text in output, f"{snippet.where} should print {text!r}:\n{output}"
        for noise in NOISE:
            assert noise not in output, f"{snippet.where} printed {noise!r}:\n{output}"


def test_the_readme_snippets_run_as_written(quickstart: QuickStart) -> None:
    found = snippets(quickstart.clone / "README.md")
    assert found[0].server, "the README's first snippet installs and starts the server"
    _run_snippets(quickstart, [s for s in found if not (s.server or s.ci)])


@pytest.mark.parametrize(
    "doc",
    [d.name for d in documents(ROOT)[1:] if snippets(d)],
)
def test_the_docs_snippets_run_as_written(quickstart: QuickStart, doc: str) -> None:
    found = snippets(quickstart.clone / "docs" / doc)
    assert not any(s.server or s.ci for s in found), "only the README starts a server"
    _run_snippets(quickstart, found, preamble=CLIENT_SETUP)


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.py")))
def test_every_example_runs_as_its_docstring_says(quickstart: QuickStart, example: str) -> None:
    path = quickstart.clone / "examples" / example
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    command = f"python examples/{example}"
    assert CLIENT_SETUP in doc and command in doc, f"{example}'s docstring says how to run it"
    assert example in EXAMPLE_OUTPUT, f"say what {example} must print"
    proc = quickstart.shell(f"{CLIENT_SETUP}\n{command}")
    assert proc.returncode == 0, proc.stdout[-6000:]
    for text in EXAMPLE_OUTPUT[example]:
        assert text in proc.stdout, f"{example} should print {text!r}:\n{proc.stdout[-6000:]}"
    for noise in NOISE:
        assert noise not in proc.stdout, f"{example} printed {noise!r}:\n{proc.stdout[-6000:]}"
    if example == "hyperparameter_tuning.py":
        found = proc.stdout.split("best first:\n")[1].splitlines()
        aucs = [float(ln.split("validation:auc=")[1]) for ln in found if "validation:auc=" in ln]
        assert aucs and aucs == sorted(aucs, reverse=True) and min(aucs) > 0.97, found
