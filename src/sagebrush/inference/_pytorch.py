"""The defaults of SageMaker's PyTorch inference toolkit.

``model_fn`` loads a TorchScript model: ``model.pt``, else the model directory's only
``.pt`` / ``.pth`` file. Requests become float32 tensors (JSON and CSV) or the tensor of an
NPY array; ``predict_fn`` runs the model in eval mode under ``torch.no_grad()``; the output
tensor is written as JSON, CSV or NPY of its values as nested lists.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from sagebrush.inference._codecs import CSV, JSON, NPY, UTF8_TYPES, decode, media_type
from sagebrush.inference._frameworks import Framework, default_output_fn

DEFAULT_MODEL_FILENAME = "model.pt"
MODEL_SUFFIXES = (".pt", ".pth")


class ModelLoadError(Exception):
    pass


def model_fn(model_dir: str) -> Any:
    path = Path(model_dir) / DEFAULT_MODEL_FILENAME
    if not path.exists():
        candidates = sorted(
            p.name for p in Path(model_dir).iterdir() if p.is_file() and p.suffix in MODEL_SUFFIXES
        )
        if len(candidates) != 1:
            raise ValueError(
                f"Exactly one .pth or .pt file is required for PyTorch models: {candidates}"
            )
        path = Path(model_dir) / candidates[0]
    try:
        # TorchScript is what the serving contract loads; torch's notice that it is
        # deprecated in favour of torch.export tells the user nothing they can act on here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*torch.jit.load.* is deprecated")
            model = torch.jit.load(  # type: ignore[no-untyped-call]
                str(path), map_location=torch.device("cpu")
            )
    except RuntimeError as exc:
        raise ModelLoadError(
            f"Failed to load {path}. Please ensure model is saved using torchscript."
        ) from exc
    return model


def input_fn(input_data: Any, content_type: str | None) -> torch.Tensor:
    array = decode(input_data, content_type, (JSON, CSV, NPY))
    if media_type(content_type) in UTF8_TYPES:
        return torch.as_tensor(array, dtype=torch.float32)
    return torch.from_numpy(array)


def predict_fn(data: Any, model: Any) -> Any:
    with torch.no_grad():
        model.eval()
        return model(data)


def output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    if isinstance(prediction, torch.Tensor):
        prediction = prediction.detach().cpu().numpy().tolist()
    return default_output_fn(prediction, accept)


FRAMEWORK = Framework(
    name="pytorch",
    model_fn=model_fn,
    input_fn=input_fn,
    predict_fn=predict_fn,
    output_fn=output_fn,
)
