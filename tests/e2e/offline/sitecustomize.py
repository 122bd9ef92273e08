"""Loaded into client subprocesses by the offline tests: any network use beyond loopback is
recorded in $SAGEBRUSH_TEST_NETLOG and fails, as it would on a machine with no network."""

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
