"""Image URIs mapped to the runtimes that stand in for them.

- ``script``: an AWS framework image (ECR repository names as in the SDK's
  ``image_uri_config/*.json``, any account and region); the job runs in script mode.
- ``builtin``: a SageMaker built-in algorithm image; ``algorithm`` names it.
- ``local-image``: a repository registered as a directory ``<images_dir>/<repo>`` holding
  an executable ``train`` (training) or ``serve`` (endpoints, batch transform), any
  registry host, any tag; checked first, so a local registration may stand in for any name.
- ``unknown``: anything else.

``sagemaker-xgboost`` is both the XGBoost framework image and the built-in algorithm: the
request decides (script mode when it names a program). Without the request it resolves to
``script`` with ``algorithm="xgboost"``; ``ImageRuntime.for_request`` settles it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

SCRIPT, LOCAL_IMAGE, BUILTIN, UNKNOWN = "script", "local-image", "builtin", "unknown"

# Any partition's ECR: amazonaws.com, .com.cn, the ISO regions' c2s.ic.gov, sc2s.sgov.gov...
_ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.[a-z0-9-]+(\.[a-z0-9-]+)+$")

FRAMEWORK_REPOSITORIES = {
    "sagemaker-scikit-learn": "sklearn",
    "pytorch-training": "pytorch",
    "pytorch-inference": "pytorch",
    "pytorch-inference-graviton": "pytorch",
    "sagemaker-pytorch": "pytorch",
    "pytorch-training-neuron": "pytorch",
    "pytorch-training-neuronx": "pytorch",
    "pytorch-trcomp-training": "pytorch",
    "tensorflow-training": "tensorflow",
    "tensorflow-inference": "tensorflow",
    "tensorflow-inference-graviton": "tensorflow",
    "sagemaker-tensorflow": "tensorflow",
    "sagemaker-tensorflow-scriptmode": "tensorflow",
    "sagemaker-xgboost": "xgboost",
    "huggingface-pytorch-training": "huggingface",
    "huggingface-pytorch-inference": "huggingface",
    "huggingface-tensorflow-training": "huggingface",
    "huggingface-tensorflow-inference": "huggingface",
    "huggingface-pytorch-training-neuronx": "huggingface",
    "huggingface-pytorch-inference-neuronx": "huggingface",
    "huggingface-pytorch-trcomp-training": "huggingface",
    "huggingface-tensorflow-trcomp-training": "huggingface",
    "mxnet-training": "mxnet",
    "mxnet-inference": "mxnet",
    "sagemaker-mxnet": "mxnet",
    "sagemaker-chainer": "chainer",
    "autogluon-training": "autogluon",
    "autogluon-inference": "autogluon",
    # Plain Python images: the SDK v3 ModelTrainer runs its drivers in these.
    "sagemaker-base-python": "python",
    "sagemaker-distribution-prod": "python",
}

# Repository -> algorithm name. Names follow the repositories of the SDK's image config.
BUILTIN_REPOSITORIES = {
    "xgboost": "xgboost",
    "linear-learner": "linear-learner",
    "pca": "pca",
    "kmeans": "kmeans",
    "knn": "knn",
    "factorization-machines": "factorization-machines",
    "randomcutforest": "randomcutforest",
    "lda": "lda",
    "ntm": "ntm",
    "ipinsights": "ipinsights",
    "object2vec": "object2vec",
    "blazingtext": "blazingtext",
    "forecasting-deepar": "deepar",
    "image-classification": "image-classification",
    "object-detection": "object-detection",
    "semantic-segmentation": "semantic-segmentation",
    "seq2seq": "seq2seq",
    "lightgbm": "lightgbm",
    "sagemaker-lightgbm": "lightgbm",
    "catboost": "catboost",
    "sagemaker-catboost": "catboost",
}

# Framework images that are also a built-in algorithm image.
DUAL_REPOSITORIES = {"sagemaker-xgboost": "xgboost"}

SCRIPT_MODE_HYPERPARAMETERS = ("sagemaker_program", "sagemaker_submit_directory")


@dataclass(frozen=True)
class ImageRuntime:
    kind: str  # "script" | "local-image" | "builtin" | "unknown"
    # The framework for script mode ("pytorch"), the algorithm for a built-in ("kmeans").
    framework: str | None
    image_dir: Path | None = None  # local-image: the directory holding ``train``
    repository: str = ""
    tag: str = ""  # tag or "sha256:..." digest; "" when the URI names neither
    # The built-in algorithm this image runs (also set on a script image that doubles as a
    # built-in, sagemaker-xgboost).
    algorithm: str | None = None

    def for_request(
        self, hyperparameters: Mapping[str, str], environment: Mapping[str, str]
    ) -> ImageRuntime:
        """Settle a dual image: built-in unless the request names a program."""
        if self.kind != SCRIPT or self.algorithm is None:
            return self
        if is_script_mode(hyperparameters, environment):
            return self
        return replace(self, kind=BUILTIN, framework=self.algorithm)


def is_script_mode(hyperparameters: Mapping[str, str], environment: Mapping[str, str]) -> bool:
    return bool(environment.get("SAGEMAKER_PROGRAM")) or any(
        k in hyperparameters for k in SCRIPT_MODE_HYPERPARAMETERS
    )


def parse_image_uri(uri: str) -> tuple[str, str, str]:
    """``(registry host, repository path, tag or digest)``; host and tag may be empty."""
    rest, _, digest = uri.partition("@")
    host = ""
    first, sep, remainder = rest.partition("/")
    # Docker's rule: the first component is a registry host when it looks like one.
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, rest = first, remainder
    tag = digest
    repo = rest
    if ":" in rest.rsplit("/", 1)[-1]:
        repo, _, named = rest.rpartition(":")
        tag = tag or named
    return host, repo, tag


_ALGORITHM_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:algorithm/(?P<name>.+)$")


def resolve_algorithm_name(name: str) -> ImageRuntime:
    """``AlgorithmSpecification.AlgorithmName``: a built-in's name (``xgboost``,
    ``linear-learner``...) or an algorithm ARN ending in one. SageMaker takes only
    algorithm resources here; Sagebrush also lets the name pick a built-in algorithm."""
    match = _ALGORITHM_ARN.match(name.strip())
    base = (match["name"] if match else name.strip()).lower()
    algorithm = BUILTIN_REPOSITORIES.get(base)
    if algorithm is None and base in BUILTIN_REPOSITORIES.values():
        algorithm = base
    if algorithm is None:
        return ImageRuntime(UNKNOWN, None, repository=base)
    return ImageRuntime(BUILTIN, algorithm, repository=base, algorithm=algorithm)


def resolve_training_image(
    algorithm: Mapping[str, object],
    images_dir: Path | None,
    *,
    hyperparameters: Mapping[str, str] | None = None,
    environment: Mapping[str, str] | None = None,
) -> ImageRuntime:
    """The runtime an ``AlgorithmSpecification`` names (TrainingImage or AlgorithmName)."""
    image = algorithm.get("TrainingImage")
    if not image and algorithm.get("AlgorithmName"):
        return resolve_algorithm_name(str(algorithm["AlgorithmName"]))
    return resolve_image(
        str(image or ""),
        images_dir,
        hyperparameters=hyperparameters or {},
        environment=environment or {},
    )


def resolve_image(
    uri: str,
    images_dir: Path | None,
    *,
    hyperparameters: Mapping[str, str] | None = None,
    environment: Mapping[str, str] | None = None,
    entry: str = "train",
) -> ImageRuntime:
    """The runtime for ``uri``; with the request's hyperparameters/environment, settled.

    ``entry`` is the executable a local image must hold: ``train`` for training jobs,
    ``serve`` for models.
    """
    host, repo, tag = parse_image_uri(uri.strip())
    runtime = _resolve(host, repo, tag, images_dir, entry)
    if hyperparameters is not None or environment is not None:
        runtime = runtime.for_request(hyperparameters or {}, environment or {})
    return runtime


def resolve_serving_image(
    uri: str, images_dir: Path | None, environment: Mapping[str, str]
) -> ImageRuntime:
    """The runtime a model's container ``Image`` names, settled by its ``Environment``
    (``SAGEMAKER_PROGRAM`` makes ``sagemaker-xgboost`` script mode)."""
    return resolve_image(uri, images_dir, environment=environment, entry="serve")


def _resolve(
    host: str, repo: str, tag: str, images_dir: Path | None, entry: str = "train"
) -> ImageRuntime:
    if not repo:
        return ImageRuntime(UNKNOWN, None, repository=repo, tag=tag)
    local = _local_image_dir(repo, images_dir, entry)
    if local is not None:
        return ImageRuntime(LOCAL_IMAGE, None, local, repository=repo, tag=tag)
    if not _ECR_HOST.match(host):
        return ImageRuntime(UNKNOWN, None, repository=repo, tag=tag)
    if repo in FRAMEWORK_REPOSITORIES:
        framework, algorithm = FRAMEWORK_REPOSITORIES[repo], DUAL_REPOSITORIES.get(repo)
        return ImageRuntime(SCRIPT, framework, repository=repo, tag=tag, algorithm=algorithm)
    if repo in BUILTIN_REPOSITORIES:
        algorithm = BUILTIN_REPOSITORIES[repo]
        return ImageRuntime(BUILTIN, algorithm, repository=repo, tag=tag, algorithm=algorithm)
    return ImageRuntime(UNKNOWN, None, repository=repo, tag=tag)


def _local_image_dir(repo: str, images_dir: Path | None, entry: str) -> Path | None:
    if images_dir is None:
        return None
    parts = repo.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    # The full repository path first (team/algo), then its last component (algo).
    for candidate in (images_dir.joinpath(*parts), images_dir / parts[-1]):
        executable = candidate / entry
        if executable.is_file() and os.access(executable, os.X_OK):
            return candidate
    return None
