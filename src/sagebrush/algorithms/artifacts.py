"""Model files of Amazon's algorithms: numpy archives under SageMaker's file name.

SageMaker's Amazon algorithms write ``model_algo-1`` (MXNet's format) into the model
directory; Sagebrush writes a numpy ``.npz`` archive there under the same name, which
``np.load("model_algo-1")`` reads — no pickle in it or out of it. Written to a temporary
name and renamed, so a model directory never holds half a model.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model_algo-1"


def save_arrays(model_dir: Path, arrays: Mapping[str, Any]) -> Path:
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / MODEL_FILE
    partial = model_dir / f".{MODEL_FILE}.partial"
    # A file object keeps numpy from appending ".npz" to SageMaker's file name.
    contents: dict[str, Any] = {name: np.asarray(value) for name, value in arrays.items()}
    with partial.open("wb") as out:
        np.savez(out, **contents)
    partial.replace(path)
    return path


def load_arrays(model_dir: Path, algorithm: str) -> dict[str, np.ndarray]:
    """Every array of the model; ``FileNotFoundError``/``ValueError`` naming what is wrong."""
    path = model_dir / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {algorithm} model ({MODEL_FILE}) in {model_dir}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a {algorithm} model: {exc}") from None
