"""The defaults of SageMaker's XGBoost container in script mode.

Requests become a ``DMatrix``: ``text/csv`` (the delimiter sniffed from the first line,
empty cells missing), ``text/libsvm`` / ``text/x-libsvm`` (``index:value`` pairs; a
label, a token without a colon, is ignored) and ``application/x-recordio-protobuf``; JSON
is not read. ``predict_fn`` is ``booster.predict(data, validate_features=False)``;
responses are the toolkit's JSON, CSV or NPY.

The container's script-mode ``model_fn`` default raises, leaving loading to the script
(only its algorithm mode loads the model itself). Here the default loads ``xgboost-model``,
else the first file of the model directory XGBoost can read, as a ``Booster``: a script
that defines ``model_fn`` behaves the same, and one that does not still serves.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from sagebrush.algorithms.serving.codecs import libsvm_matrix
from sagebrush.inference._codecs import CSV, media_type, unsupported
from sagebrush.inference._frameworks import Framework, default_output_fn

LIBSVM = "text/libsvm"
X_LIBSVM = "text/x-libsvm"
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
MODEL_FILE = "xgboost-model"


def model_fn(model_dir: str) -> xgb.Booster:
    root = Path(model_dir)
    others = sorted(p for p in root.iterdir() if p.name != MODEL_FILE)
    for path in [root / MODEL_FILE, *others]:
        if not path.is_file() or path.name.startswith("."):
            continue
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(path.read_bytes()))
        except xgb.core.XGBoostError:
            continue
        return booster
    raise ValueError(
        f"No XGBoost model in {model_dir}: expected {MODEL_FILE} or another file "
        "that XGBoost can load (or define model_fn in the script)"
    )


def input_fn(input_data: Any, content_type: str | None) -> xgb.DMatrix:
    media = media_type(content_type)
    if media == RECORDIO_PROTOBUF:
        from sagebrush.algorithms.data import recordio_protobuf

        body = input_data.encode("utf-8") if isinstance(input_data, str) else input_data
        return xgb.DMatrix(recordio_protobuf.read(body).features)
    if media not in (CSV, LIBSVM, X_LIBSVM):
        raise unsupported(content_type, 415)
    text = input_data.decode("utf-8") if isinstance(input_data, bytes | bytearray) else input_data
    return xgb.DMatrix(_csv_rows(text) if media == CSV else libsvm_matrix(text).astype(np.float32))


def predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data, validate_features=False)


def _csv_rows(text: str) -> np.ndarray:
    lines = [line for line in text.strip().split("\n") if line.strip()]
    try:
        sniffed = csv.Sniffer().sniff(lines[0][:512]).delimiter if lines else ","
    except csv.Error:
        sniffed = ","
    delimiter = "," if sniffed.isalnum() else sniffed
    rows = [["nan" if cell == "" else cell for cell in line.split(delimiter)] for line in lines]
    return np.array(rows).astype(np.float64)


FRAMEWORK = Framework(
    name="xgboost",
    model_fn=model_fn,
    input_fn=input_fn,
    predict_fn=predict_fn,
    output_fn=default_output_fn,
)
