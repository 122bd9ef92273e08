"""Inference for the built-in algorithms: runtimes, formats and the model server.

``load_runtime(algorithm, model_dir, environment)`` gives the algorithm's
``ModelRuntime``; ``python -m sagebrush.algorithms.serving <algorithm> <model_dir>``
serves it over HTTP as SageMaker's algorithm containers do (``serve``): the port comes
from ``--port``, else ``SAGEMAKER_BIND_TO_PORT``, else 8080.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from sagebrush.algorithms import IMPLEMENTED
from sagebrush.algorithms.serving.runtime import NO_CONTENT, ModelRuntime, Prediction


def runtime_class(algorithm: str) -> type[ModelRuntime]:
    if algorithm not in IMPLEMENTED:
        raise KeyError(f"no built-in algorithm named {algorithm}")
    module = importlib.import_module(f"{IMPLEMENTED[algorithm]}._serve")
    runtime: type[ModelRuntime] = module.Runtime
    return runtime


def load_runtime(
    algorithm: str, model_dir: Path, environment: Mapping[str, str] | None = None
) -> ModelRuntime:
    return runtime_class(algorithm).load(model_dir, dict(environment or {}))


__all__ = ["NO_CONTENT", "ModelRuntime", "Prediction", "load_runtime", "runtime_class"]
