"""``sagebrush serve``: bind one port, print how to reach it, serve until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import socket
import sys

from sagebrush.cli.discovery import (
    ServerInfo,
    export_lines,
    forget_server,
    read_server,
    record_server,
)
from sagebrush.config import Settings, load_settings


def serve(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(
            home=args.home,
            host=args.host,
            port=args.port,
            db=args.db,
            auth=args.auth,
            region=args.region,
            account_id=args.account_id,
            log_level=args.log_level,
            access_log=args.access_log,
            instance_quota=args.instance_quota,
            stop_grace_seconds=args.stop_grace_seconds,
        )
    except ValueError as exc:
        print(f"sagebrush: invalid configuration: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.log_level.lower() != "debug":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    lock = _lock_home(settings)
    if lock is None:
        running = read_server(settings.home)
        where = f" at {running.url} (pid {running.pid})" if running else ""
        print(
            f"sagebrush: another server is using {settings.home}{where}; "
            "stop it or pass a different --home",
            file=sys.stderr,
        )
        return 1
    try:
        sock = _bind(settings)
    except OSError as exc:
        print(
            f"sagebrush: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr
        )
        return 1
    port = sock.getsockname()[1]
    # Jobs tell their code where the server is: the port actually bound, not 0.
    settings = settings.model_copy(update={"port": port})
    from sagebrush.gateway.app import create_app

    app = create_app(settings)
    info = ServerInfo.for_settings(settings, port)
    record_server(settings, info)
    try:
        _banner(settings, info)
        _run(app, sock, settings)
    finally:
        forget_server(settings, info)
        sock.close()
    return 0


def _lock_home(settings: Settings) -> int | None:
    """An exclusive lock on the data directory for this process's lifetime: a second server
    on the same home would sweep the first one's in-flight uploads at start-up."""
    settings.home.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.home / "server.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _bind(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    # Listening before uvicorn starts lets clients that read the banner connect at once:
    # the kernel queues them until the loop accepts.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _banner(settings: Settings, info: ServerInfo) -> None:
    verification = "on" if settings.verify_signatures else "off (loopback)"
    print(f"Sagebrush listening on {info.url}", flush=True)
    print(f"  home: {settings.home}   signature verification: {verification}")
    print("  Point AWS clients here with:")
    for line in export_lines(settings, info):
        print(f"    {line}")
    sys.stdout.flush()


def _run(app: object, sock: socket.socket, settings: Settings) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        http="httptools",
        loop="uvloop",
        timeout_keep_alive=75,
        # botocore keeps connections alive; 100-continue is answered by uvicorn itself when
        # the app first reads the body.
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal against
    # the handlers it found; no-op handlers let `serve` finish its clean-up and exit 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _sig, _frame: None)
    uvicorn.Server(config).run(sockets=[sock])
