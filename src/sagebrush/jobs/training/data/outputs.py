"""Uploading what a training job leaves in ``/opt/ml/model`` and ``/opt/ml/output/data``.

With ``OutputDataConfig.CompressionType`` GZIP (the default) each directory becomes one
tar.gz, ``<S3OutputPath>/<job>/output/model.tar.gz`` and ``.../output.tar.gz``, whose
member names are relative to the directory with no leading ``./`` (``tar -tzf`` on a real
artifact lists ``xgboost-model``). With NONE the files are uploaded one by one under
``.../output/model/`` and ``.../output/data/``.

The tarball is streamed into ``put_object`` as it is written (a helper thread compresses
while the store hashes and writes): no temporary copy on disk, which would double the
bytes written for a large model, and memory bounded by a few MiB whatever its size.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path
from typing import BinaryIO

from sagebrush.jobs.training.data._s3uri import as_prefix, parse_s3_uri
from sagebrush.jobs.training.data._sync import CHUNK, put_file, put_stream
from sagebrush.storage import ObjectStore

# gzip's own default: level 9 costs several times the CPU for a few percent on model files.
COMPRESS_LEVEL = 6


def model_artifact_uri(s3_output_path: str, job_name: str, *, compressed: bool = True) -> str:
    """``ModelArtifacts.S3ModelArtifacts`` for a job."""
    output = _job_output(s3_output_path, job_name)
    return f"{output}/model.tar.gz" if compressed else f"{output}/model/"


def output_artifact_uri(s3_output_path: str, job_name: str, *, compressed: bool = True) -> str:
    """Where ``/opt/ml/output/data`` goes."""
    output = _job_output(s3_output_path, job_name)
    return f"{output}/output.tar.gz" if compressed else f"{output}/data/"


def upload_directory(
    store: ObjectStore, src_dir: Path, s3_uri: str, *, compressed: bool = True
) -> list[tuple[str, str, int]]:
    """Upload ``src_dir`` as one tar.gz at ``s3_uri``, or (``compressed=False``) file by file
    under it; returns (bucket, key, size) of each object written."""
    if compressed:
        return [upload_directory_tarball(store, src_dir, s3_uri)]
    return upload_directory_files(store, src_dir, s3_uri)


def upload_directory_tarball(
    store: ObjectStore, src_dir: Path, s3_uri: str, *, compresslevel: int = COMPRESS_LEVEL
) -> tuple[str, str, int]:
    """Upload ``src_dir``'s contents as a tar.gz at ``s3_uri``; returns (bucket, key, size).

    An empty (or missing) directory gives an empty but valid tarball.
    """
    bucket, key = parse_s3_uri(s3_uri)
    info = put_stream(store, bucket, key, lambda out: write_tarball(src_dir, out, compresslevel))
    return bucket, key, info.size


def upload_directory_files(
    store: ObjectStore, src_dir: Path, s3_uri: str
) -> list[tuple[str, str, int]]:
    """Upload each regular file under ``src_dir`` to ``<s3_uri>/<relative path>``.

    Returns (bucket, key, size) per file. Symbolic links are skipped: following them could
    publish files from outside the directory.
    """
    bucket, key = parse_s3_uri(s3_uri)
    prefix = as_prefix(key)
    uploaded = []
    for path, relative in _walk(src_dir):
        if path.is_file() and not path.is_symlink():
            info = put_file(store, bucket, prefix + relative, path)
            uploaded.append((bucket, info.key, info.size))
    return uploaded


def write_tarball(src_dir: Path, out: BinaryIO, compresslevel: int = COMPRESS_LEVEL) -> None:
    """Write ``src_dir``'s contents to ``out`` as tar.gz (links kept as links, not followed)."""
    with (
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=compresslevel, mtime=0) as zipped,
        tarfile.TarFile(fileobj=zipped, mode="w", copybufsize=CHUNK) as tar,
    ):
        for path, relative in _walk(src_dir):
            tar.add(path, arcname=relative, recursive=False, filter=_as_root)


def _walk(src_dir: Path) -> list[tuple[Path, str]]:
    """Every entry under ``src_dir`` with its '/'-joined relative path, parents first."""
    entries = []
    for root, dirs, files in os.walk(src_dir):
        dirs.sort()
        base = Path(root)
        for name in sorted(dirs) + sorted(files):
            path = base / name
            entries.append((path, path.relative_to(src_dir).as_posix()))
    entries.sort(key=lambda entry: entry[1].split("/"))
    return entries


def _as_root(member: tarfile.TarInfo) -> tarfile.TarInfo:
    # Like the archives SageMaker builds as root in the container; and the server's
    # local user name is nobody else's business.
    member.uid = member.gid = 0
    member.uname = member.gname = "root"
    return member


def _job_output(s3_output_path: str, job_name: str) -> str:
    return f"{s3_output_path.rstrip('/')}/{job_name}/output"
