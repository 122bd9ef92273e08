"""``/opt/ml`` without containers: a private mount namespace per instance.

``wrap`` prefixes a command so that, in a fresh mount (and UTS) namespace, the instance root
is bound onto ``/opt/ml``, the job's hosts file onto ``/etc/hosts`` and the host name set to
``algo-N``, before the command is exec'd. ``unshare`` execs without forking and the shell
ends in ``exec``, so the wrapped command keeps the launcher's PID and process group and
receives its signals directly.

When Sagebrush runs as root and ``/opt/ml`` does not exist, the mount point is created on
the host file system (an empty directory; the bind itself stays private to the namespace).
Without root, unprivileged user namespaces (``--map-root-user``) are used, which needs an
existing ``/opt/ml`` on the host.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

OPT_ML = "/opt/ml"

# $1 root, $2 hosts file, $3 host name (may be empty), then read-only paths relative to
# /opt/ml up to "--", then the command. A bind of a directory onto itself makes it a mount
# point of its own, which is what lets it be remounted read-only (FastFile channels).
_SETUP = """set -e
root=$1 hosts=$2 name=$3
shift 3
[ -d /opt/ml ] || mkdir -p /opt/ml
mount --bind "$root" /opt/ml
mount --bind "$hosts" /etc/hosts
[ -z "$name" ] || hostname "$name"
while [ "$1" != "--" ]; do
  mount --bind "/opt/ml/$1" "/opt/ml/$1"
  mount -o remount,bind,ro "/opt/ml/$1"
  shift
done
shift
exec "$@"
"""


def wrap(
    argv: Sequence[str],
    root: Path,
    hosts_file: Path,
    read_only: Sequence[str] = (),
    hostname: str | None = None,
) -> list[str]:
    """``argv`` run with ``root`` as ``/opt/ml`` and ``hosts_file`` as ``/etc/hosts``.

    ``read_only`` holds paths relative to ``/opt/ml`` (e.g. ``input/data/train``) that the
    command must not be able to modify.
    """
    for rel in read_only:
        if rel.startswith("/") or ".." in Path(rel).parts or rel == "--":
            raise ValueError(f"read-only path must be relative to /opt/ml: {rel!r}")
    unshare = shutil.which("unshare") or "unshare"
    prefix = [unshare, "--mount", "--propagation", "private"]
    if hostname:
        prefix.append("--uts")
    if os.geteuid() != 0:
        prefix.append("--map-root-user")
    return [
        *prefix,
        "/bin/sh",
        "-c",
        _SETUP,
        "sagebrush-namespace",
        str(root),
        str(hosts_file),
        hostname or "",
        *read_only,
        "--",
        *argv,
    ]


@functools.cache
def namespace_supported() -> bool:
    """Whether ``wrap`` works here, found by running it once on a throwaway directory."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory(prefix="sagebrush-ns-probe-") as tmp:
        root = Path(tmp) / "root"
        (root / "data").mkdir(parents=True)
        (root / "probe").write_text("ok", encoding="utf-8")
        hosts = Path(tmp) / "hosts"
        hosts.write_text("127.0.0.1\tlocalhost algo-1\n", encoding="utf-8")
        check = (
            "cat /opt/ml/probe && grep -q algo-1 /etc/hosts"
            ' && [ "$(hostname)" = algo-1 ] && ! touch /opt/ml/data/x 2>/dev/null'
        )
        argv = wrap(["/bin/sh", "-c", check], root, hosts, read_only=["data"], hostname="algo-1")
        try:
            done = subprocess.run(argv, capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return False
        return done.returncode == 0 and done.stdout.strip() == b"ok"
