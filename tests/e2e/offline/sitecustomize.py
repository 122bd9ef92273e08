"""Loaded into client subprocesses by the offline tests: any network use beyond loopback is
recorded in $SAGEBRUSH_TEST_NETLOG and fails, as it would on a machine with no network.

Then it runs the next ``sitecustomize`` on ``sys.path`` (``sagebrush env``'s, which installs
the sagemaker SDK accelerator), as Python would have without this one."""

from __future__ import annotations

import os
import socket

_LOG = os.environ.get("SAGEBRUSH_TEST_NETLOG")
_LOCAL = ("127.", "::1", "localhost")


def _blocked(what: str) -> OSError:
    if _LOG:
        with open(_LOG, "a") as f:  # noqa: PTH123
            f.write(what + "\n")
    return OSError(f"network beyond loopback is disabled in this test: {what}")


_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if isinstance(host, bytes):
        host = host.decode()
    if host and not str(host).startswith(_LOCAL) and not str(host).endswith(".localhost"):
        raise _blocked(f"resolve {host}")
    return _getaddrinfo(host, *args, **kwargs)


_connect = socket.socket.connect


def connect(self, address):  # type: ignore[no-untyped-def]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])
        if not host.startswith(_LOCAL):
            raise _blocked(f"connect {address}")
    return _connect(self, address)


socket.getaddrinfo = getaddrinfo
socket.socket.connect = connect  # type: ignore[method-assign]


def _run_next_sitecustomize() -> None:
    import importlib.machinery
    import importlib.util
    import sys

    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))  # noqa: PTH100, PTH120
    paths = [os.path.realpath(p or os.curdir) for p in sys.path]
    after = sys.path[paths.index(here) + 1 :] if here in paths else sys.path
    entries = [p for p in after if os.path.realpath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", entries)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


_run_next_sitecustomize()
