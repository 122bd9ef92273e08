"""What runs for a model's container: the command, its environment, its model directory.

A container definition (``Image``, ``ModelDataUrl``, ``Environment``, ``Mode``) resolves
to one of three serving runtimes, launched on a loopback port given as ``--port`` and
``SAGEMAKER_BIND_TO_PORT``:

- a built-in algorithm: ``python -m sagebrush.algorithms.serving <algorithm> <model_dir>``;
- a framework image in script mode (sklearn, xgboost, pytorch): the inference toolkit,
  ``python -m sagebrush.inference --framework F --model-dir D [--code-dir C]``;
- a registered local image: ``<images>/<repo>/serve``, in a private mount namespace where
  its model directory is ``/opt/ml/model`` (code that hard-codes the path works).

``Mode: MultiModel`` runs the inference toolkit's multi-model server instead; models are
then loaded through its ``/models`` API as invocations name them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagebrush.algorithms import IMPLEMENTED
from sagebrush.container.archives import extract_all
from sagebrush.container.images import BUILTIN, LOCAL_IMAGE, SCRIPT, resolve_serving_image
from sagebrush.container.isolation import namespace_supported, wrap
from sagebrush.container.training import _venv
from sagebrush.inference._requirements import unmet_requirements
from sagebrush.jobs.training.data._s3uri import parse_s3_uri
from sagebrush.storage import ObjectStore
from sagebrush.storage.errors import NoSuchBucket, NoSuchKey

SERVED_FRAMEWORKS = ("sklearn", "xgboost", "pytorch")


class StagingError(Exception):
    """The model cannot be served: the message is the endpoint's FailureReason."""


@dataclass(frozen=True)
class ContainerPlan:
    """One container of a model, resolved: how to start it once its files are in place."""

    hostname: str
    kind: str  # builtin | script | local-image
    framework: str | None  # the algorithm (builtin) or framework (script)
    image: str
    image_dir: Path | None
    model_data_url: str | None
    environment: Mapping[str, str]
    multi_model: bool

    @classmethod
    def of(cls, container: Mapping[str, Any], hostname: str, images_dir: Path) -> ContainerPlan:
        image = str(container.get("Image") or "")
        environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
        runtime = resolve_serving_image(image, images_dir, environment)
        kind = runtime.kind
        if kind == BUILTIN and runtime.framework not in IMPLEMENTED:
            raise StagingError(f"The built-in algorithm of image {image} is not implemented.")
        if kind == SCRIPT and runtime.framework not in SERVED_FRAMEWORKS:
            raise StagingError(
                f"Image {image} ({runtime.framework}) cannot be served here; script mode "
                f"serves {', '.join(SERVED_FRAMEWORKS)}."
            )
        if kind not in (BUILTIN, SCRIPT, LOCAL_IMAGE):
            raise StagingError(f"Image {image} cannot be served here.")
        return cls(
            hostname=hostname,
            kind=kind,
            framework=runtime.framework,
            image=image,
            image_dir=runtime.image_dir,
            model_data_url=_model_data_url(container),
            environment=environment,
            multi_model=container.get("Mode") == "MultiModel",
        )

    def command(
        self,
        port: int,
        model_dir: Path,
        code_dir: Path | None,
        instance_dir: Path,
        interpreter: str = sys.executable,
    ) -> list[str]:
        python = [interpreter, "-m"]
        if self.multi_model:
            chosen = ["--algorithm" if self.kind == BUILTIN else "--framework", str(self.framework)]
            return [*python, "sagebrush.inference", "--multi-model", *chosen, "--port", str(port)]
        if self.kind == BUILTIN:
            algorithm = str(self.framework)
            return [
                *python,
                "sagebrush.algorithms.serving",
                algorithm,
                str(model_dir),
                "--port",
                str(port),
            ]
        if self.kind == SCRIPT:
            argv = [*python, "sagebrush.inference", "--framework", str(self.framework)]
            argv += ["--model-dir", str(model_dir), "--port", str(port)]
            if code_dir is not None:
                argv += ["--code-dir", str(code_dir)]
            return argv
        assert self.image_dir is not None
        serve = [str(self.image_dir / "serve")]
        if not namespace_supported():
            return serve
        hosts = instance_dir / "hosts"
        hosts.write_text("127.0.0.1\tlocalhost\n", encoding="utf-8")
        return wrap(serve, instance_dir, hosts)


def _model_data_url(container: Mapping[str, Any]) -> str | None:
    if container.get("ModelDataUrl"):
        return str(container["ModelDataUrl"])
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    return str(source["S3Uri"]) if source.get("S3Uri") else None


def stage_model(objects: ObjectStore, url: str, cache_dir: Path) -> Path:
    """The model at ``url`` unpacked under ``cache_dir`` (once per artifact version).

    A ``.tar.gz`` object is extracted; a prefix ending in ``/`` (an uncompressed
    ``ModelDataSource``) is copied as is; any other single object is placed in the model
    directory under its own name, as SageMaker does for an uncompressed ``S3Object``.
    """
    try:
        bucket, key = parse_s3_uri(url)
        if key.endswith("/") or not key:
            return _stage_prefix(objects, bucket, key, cache_dir)
        info = objects.head_object(bucket, key)
    except (NoSuchKey, NoSuchBucket):
        raise StagingError(
            f"Failed to download model data from {url}: it does not exist."
        ) from None
    except ValueError as exc:
        raise StagingError(f"Invalid model data URL {url}: {exc}") from None
    digest = hashlib.sha256(f"{url}\0{info.etag}\0{info.size}".encode()).hexdigest()[:24]
    dest = cache_dir / digest
    if dest.is_dir():
        return dest
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_dir))
    try:
        download = work / "artifact"
        objects.materialize(bucket, key, download)
        unpacked = work / "model"
        unpacked.mkdir()
        if tarfile.is_tarfile(download):
            try:
                with tarfile.open(download) as tar:
                    extract_all(tar, unpacked)
            except (tarfile.TarError, OSError) as exc:
                raise StagingError(f"Failed to extract model data archive {url}: {exc}") from None
        else:
            download.rename(unpacked / Path(key).name)
        try:
            unpacked.rename(dest)
        except OSError:  # another stager won the race
            if not dest.is_dir():
                raise
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _stage_prefix(objects: ObjectStore, bucket: str, prefix: str, cache_dir: Path) -> Path:
    listing = objects.list_objects(bucket, prefix=prefix, max_keys=1000)
    keys = [o.key for o in listing.objects if not o.key.endswith("/")]
    if not keys:
        raise StagingError(f"Failed to download model data from s3://{bucket}/{prefix}: empty.")
    tags = "\0".join(f"{o.key}:{o.etag}" for o in listing.objects)
    dest = cache_dir / hashlib.sha256(f"{bucket}\0{tags}".encode()).hexdigest()[:24]
    if dest.is_dir():
        return dest
    work = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_dir))
    try:
        for key in keys:
            target = work / key[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            objects.materialize(bucket, key, target)
        work.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def stage_code(objects: ObjectStore, environment: Mapping[str, str], dest: Path) -> Path | None:
    """``SAGEMAKER_SUBMIT_DIRECTORY`` when it names an ``s3://`` source tarball, unpacked."""
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if not submit.startswith("s3://"):
        return None
    try:
        bucket, key = parse_s3_uri(submit)
        dest.mkdir(parents=True, exist_ok=True)
        tarball = dest.parent / f".{dest.name}.tar.gz"
        objects.materialize(bucket, key, tarball)
    except (NoSuchKey, NoSuchBucket):
        raise StagingError(
            f"Failed to download SAGEMAKER_SUBMIT_DIRECTORY {submit}: it does not exist."
        ) from None
    try:
        with tarfile.open(tarball) as tar:
            extract_all(tar, dest)
    except (tarfile.TarError, OSError) as exc:
        raise StagingError(f"SAGEMAKER_SUBMIT_DIRECTORY {submit} is not a tar.gz: {exc}") from None
    finally:
        tarball.unlink(missing_ok=True)
    return dest


def interpreter_for(code_dir: Path | None, venvs_dir: Path, environment: Mapping[str, str]) -> str:
    """The Python to serve script-mode code with: the server's own, unless the code's
    ``requirements.txt`` asks for something it lacks — then a virtualenv layered on it
    with those installed, cached by the file's content (as training jobs get), so a
    model's pins never change the server's environment."""
    if code_dir is None or not (code_dir / "requirements.txt").is_file():
        return sys.executable
    requirements = code_dir / "requirements.txt"
    try:
        if not unmet_requirements(requirements):
            return sys.executable
        env = {**os.environ, **environment}
        python = _venv.cached_requirements_venv(venvs_dir, requirements, env=env, cwd=code_dir)
    except Exception as exc:
        raise StagingError(f"Installing the model's requirements.txt failed: {exc}") from None
    return str(python)


def link_model(model_dir: Path, dest: Path) -> None:
    """Give a local image its own ``model`` directory (hard links: no bytes copied)."""
    shutil.copytree(model_dir, dest, copy_function=_link, dirs_exist_ok=True)


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
