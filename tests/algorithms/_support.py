"""Running a built-in algorithm on an ``/opt/ml`` tree of its own, without a server.

``instance(tmp_path, hyperparameters, train=Channel(...))`` lays out the tree the platform
writes (config files, channel data, File or Pipe mode); ``train(algorithm, root)`` runs
the algorithm's entry point in this process and returns its exit status;
``runtime(algorithm, root)`` loads the model it wrote for inference.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sagebrush.algorithms import IMPLEMENTED
from sagebrush.algorithms._main import run_training
from sagebrush.algorithms.serving import ModelRuntime, load_runtime


@dataclass(frozen=True)
class Channel:
    # file name -> bytes (File mode: written under input/data/<channel>/; Pipe: concatenated)
    files: Mapping[str, bytes]
    content_type: str | None = None
    mode: str = "File"
    extra: Mapping[str, str] = field(default_factory=dict)


def csv_bytes(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    """Label-first CSV without a header, as SageMaker's algorithms read it."""
    table = features if labels is None else np.column_stack([labels, features])
    lines = (",".join(repr(float(v)) for v in row) for row in table)
    return ("\n".join(lines) + "\n").encode()


def instance(
    tmp_path: Path,
    hyperparameters: Mapping[str, object],
    *,
    hosts: int = 1,
    host: int = 1,
    **channels: Channel,
) -> Path:
    root = tmp_path / f"algo-{host}"
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(
        json.dumps({k: str(v) for k, v in hyperparameters.items()})
    )
    data_config = {}
    for name, channel in channels.items():
        entry = {"TrainingInputMode": channel.mode, "S3DistributionType": "FullyReplicated"}
        if channel.content_type:
            entry["ContentType"] = channel.content_type
        entry.update(channel.extra)
        data_config[name] = entry
        if channel.mode == "Pipe":
            _pipe(root / "input" / "data" / f"{name}_0", b"".join(channel.files.values()))
            continue
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True)
        for file_name, data in channel.files.items():
            (folder / file_name).parent.mkdir(parents=True, exist_ok=True)
            (folder / file_name).write_bytes(data)
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    names = [f"algo-{i}" for i in range(1, hosts + 1)]
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": f"algo-{host}", "hosts": names})
    )
    for sub in ("model", "output/data", "checkpoints"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def _pipe(path: Path, data: bytes) -> None:
    """A FIFO fed once by a thread, as the platform's Pipe mode feeds epoch 0."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)

    def feed() -> None:
        with path.open("wb") as fifo:
            fifo.write(data)

    threading.Thread(target=feed, daemon=True).start()


def train(algorithm: str, root: Path) -> int:
    module = importlib.import_module(f"{IMPLEMENTED[algorithm]}._train")
    return run_training(module.train, [str(root)])


def failure(root: Path) -> str:
    path = root / "output" / "failure"
    return path.read_text() if path.exists() else ""


def runtime(
    algorithm: str, root: Path, environment: Mapping[str, str] | None = None
) -> ModelRuntime:
    return load_runtime(algorithm, root / "model", environment or {})
