"""boto3 upload and download of a 1 GiB file through Sagebrush, beside two baselines run in
the same process: a plain copy of the same file on the same disk, and the same boto3 calls
against a null S3 server (`_null_s3.py`: discards uploads, serves downloads from memory),
which is the most the boto3 client itself reaches on this machine.

Target: >= 300 MB/s each way and >= 0.4x the plain copy.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig

from sagebrush.testing import start_server

MB = 1_000_000
HERE = Path(__file__).resolve().parent
COLD: list[bool] = []


def make_file(path: Path, size: int) -> None:
    block = os.urandom(64 * 1024 * 1024)
    with path.open("wb") as f:
        left = size
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def digest(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def drop_caches() -> bool:
    """Start each measurement with a cold page cache where we may (root on Linux), so the
    plain copy and the transfers all read the source from disk."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def timed(fn: object) -> float:
    cold = drop_caches()
    COLD.append(cold)
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def null_server(size: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "_null_s3:app",
            "--app-dir",
            str(HERE),
            "--port",
            str(port),
            "--log-level",
            "error",
            "--http",
            "httptools",
            "--loop",
            "uvloop",
        ],
        env={**os.environ, "NULL_S3_SIZE": str(size)},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return process, url


def client(url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="sagebrush",
        aws_secret_access_key="sagebrush-secret",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "source.bin"
        make_file(source, size)
        server = start_server(tmp / "home")
        try:
            s3 = client(server.url)
            s3.create_bucket(Bucket="bench")
            config = TransferConfig()  # boto3's defaults: 8 MiB parts, 10 threads
            copy_s = timed(lambda: shutil.copyfile(source, tmp / "copy.bin"))
            (tmp / "copy.bin").unlink()
            up_s = timed(lambda: s3.upload_file(str(source), "bench", "big.bin", Config=config))
            target = tmp / "download.bin"
            down_s = timed(lambda: s3.download_file("bench", "big.bin", str(target), Config=config))
            assert target.stat().st_size == size
            assert digest(target) == digest(source), "download differs from upload"
        finally:
            server.stop()
        process, url = null_server(size)
        try:
            null = client(url)
            null_up_s = timed(lambda: null.upload_file(str(source), "null", "k", Config=config))
            null_down_s = timed(
                lambda: null.download_file("null", "k", str(tmp / "null.bin"), Config=config)
            )
        finally:
            process.terminate()
            process.wait()
    copy_rate, up_rate, down_rate, null_up, null_down = (
        size / MB / s for s in (copy_s, up_s, down_s, null_up_s, null_down_s)
    )
    print(f"file size            {size / MB:.0f} MB   page cache dropped before each: {all(COLD)}")
    print(f"plain copy           {copy_rate:8.1f} MB/s  ({copy_s:.2f} s)")
    print(
        f"boto3 upload_file    {up_rate:8.1f} MB/s  ({up_s:.2f} s)  "
        f"ratio {up_rate / copy_rate:.2f}x"
    )
    print(
        f"boto3 download_file  {down_rate:8.1f} MB/s  ({down_s:.2f} s)  "
        f"ratio {down_rate / copy_rate:.2f}x"
    )
    print(
        f"null server upload   {null_up:8.1f} MB/s  ({null_up_s:.2f} s)  "
        f"sagebrush/null {up_rate / null_up:.2f}x"
    )
    print(
        f"null server download {null_down:8.1f} MB/s  ({null_down_s:.2f} s)  "
        f"sagebrush/null {down_rate / null_down:.2f}x"
    )


if __name__ == "__main__":
    main()
