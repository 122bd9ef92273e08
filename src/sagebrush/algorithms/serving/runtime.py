"""The model runtime interface every built-in algorithm's inference implements."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self


@dataclass(frozen=True)
class Prediction:
    body: bytes
    content_type: str
    status: int = 200


NO_CONTENT = Prediction(b"", "text/plain", 204)


class ModelRuntime(ABC):
    """Load once, answer ``/invocations`` many times.

    ``invoke`` takes the raw request body with its Content-Type and Accept headers and
    returns the response body; bad requests raise ``InferenceError`` with the status
    SageMaker's algorithm answers (415 unknown content type, 406 unknown accept, 400
    unreadable data). An empty body answers 204.
    """

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.environment = dict(environment)

    @classmethod
    @abstractmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self: ...

    @abstractmethod
    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction: ...

    @property
    def batch(self) -> bool:
        """Serving a batch transform job (``SAGEMAKER_BATCH``), not an endpoint."""
        return self.environment.get("SAGEMAKER_BATCH", "").lower() in ("true", "1")

    def execution_parameters(self) -> dict[str, Any]:
        """``GET /execution-parameters``: what a transform job uses unless it says otherwise."""
        return {
            "MaxConcurrentTransforms": max(1, os.cpu_count() or 1),
            "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": 6,
        }
