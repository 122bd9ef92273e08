"""The xgboost and pytorch defaults: a model served with no script at all."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import xgboost as xgb

from sagebrush.algorithms.data import recordio_protobuf
from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving.runtime import Prediction
from sagebrush.inference import ScriptRuntime
from sagebrush.inference._pytorch import ModelLoadError

ROWS = np.array([[0.5, 1.0, -2.0], [3.0, 0.0, 1.5]])


def booster() -> xgb.Booster:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(60, 3))
    labels = features @ np.array([1.0, -0.5, 2.0])
    params = {"objective": "reg:squarederror", "max_depth": 2, "nthread": 1}
    return xgb.train(params, xgb.DMatrix(features, label=labels), num_boost_round=4)


def scored(model: xgb.Booster, rows: np.ndarray) -> bytes:
    return json.dumps(model.predict(xgb.DMatrix(rows)).tolist()).encode()


def test_xgboost_loads_xgboost_model_and_reads_csv_libsvm_recordio(tmp_path: Path) -> None:
    model = booster()
    model.save_model(str(tmp_path / "xgboost-model"))
    runtime = ScriptRuntime.load(tmp_path, {}, framework_name="xgboost")
    expected = scored(model, ROWS)

    csv = b"0.5,1.0,-2.0\n3.0,0.0,1.5\n"
    assert runtime.invoke(csv, "text/csv", None) == Prediction(expected, "application/json")
    # libsvm names the features a row has; the others are missing, not zero.
    libsvm = b"0 0:0.5 1:1.0 2:-2.0\n1 0:3.0 2:1.5\n"
    sparse = scored(model, np.array([[0.5, 1.0, -2.0], [3.0, np.nan, 1.5]]))
    assert runtime.invoke(libsvm, "text/x-libsvm", None) == Prediction(sparse, "application/json")
    records = recordio_protobuf.write_records({"values": ROWS.astype(np.float32)})
    got = runtime.invoke(records, "application/x-recordio-protobuf", "text/csv")
    predictions = model.predict(xgb.DMatrix(ROWS.astype(np.float32)))
    # CSV cells are the float32 scores as NumPy prints them (shortest round-trip form).
    assert got == Prediction("".join(f"{v!s}\n" for v in predictions).encode(), "text/csv")
    # A missing cell is missing to XGBoost, not zero.
    gap = model.predict(xgb.DMatrix(np.array([[0.5, np.nan, -2.0]]))).tolist()
    assert runtime.invoke(b"0.5,,-2.0", "text/csv", None).body == json.dumps(gap).encode()
    with pytest.raises(InferenceError) as refused:
        runtime.invoke(json.dumps(ROWS.tolist()).encode(), "application/json", None)
    assert refused.value.status == 415


def test_xgboost_finds_a_model_file_of_another_name(tmp_path: Path) -> None:
    model = booster()
    (tmp_path / "README.txt").write_text("not a model")
    model.save_model(str(tmp_path / "trained.ubj"))
    runtime = ScriptRuntime.load(tmp_path, {}, framework_name="xgboost")
    assert runtime.invoke(b"0.5,1.0,-2.0\n3.0,0.0,1.5", "text/csv", None).body == scored(
        model, ROWS
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError) as failed:
        ScriptRuntime.load(empty, {}, framework_name="xgboost")
    assert str(failed.value) == (
        f"No XGBoost model in {empty}: expected xgboost-model or another file that XGBoost "
        "can load (or define model_fn in the script)"
    )


class Affine(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]]))
            self.linear.bias.copy_(torch.tensor([0.25, -0.75]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.linear(x)
        return result


def torchscript(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated upstream
        torch.jit.trace(Affine(), torch.zeros(1, 3)).save(str(path))  # type: ignore[no-untyped-call]


def test_pytorch_loads_torchscript_and_reads_json_csv_npy(tmp_path: Path) -> None:
    torchscript(tmp_path / "model.pt")
    runtime = ScriptRuntime.load(tmp_path, {}, framework_name="pytorch")
    with torch.no_grad():
        outputs = Affine()(torch.tensor(ROWS, dtype=torch.float32)).numpy().tolist()
    expected = json.dumps(outputs).encode()

    body = json.dumps(ROWS.tolist()).encode()
    assert runtime.invoke(body, "application/json", None) == Prediction(
        expected, "application/json"
    )
    got = runtime.invoke(b"0.5,1.0,-2.0\n3.0,0.0,1.5", "text/csv", "text/csv")
    assert got == Prediction("".join(f"{a},{b}\n" for a, b in outputs).encode(), "text/csv")
    buffer = io.BytesIO()
    np.save(buffer, ROWS.astype(np.float32))
    got = runtime.invoke(buffer.getvalue(), "application/x-npy", "application/x-npy")
    assert got.content_type == "application/x-npy"
    np.testing.assert_array_equal(np.load(io.BytesIO(got.body)), np.array(outputs), strict=True)


def test_pytorch_model_files_that_will_not_load(tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    weights.mkdir()
    torch.save(Affine().state_dict(), weights / "model.pth")
    with pytest.raises(ModelLoadError) as not_torchscript:
        ScriptRuntime.load(weights, {}, framework_name="pytorch")
    assert str(not_torchscript.value) == (
        f"Failed to load {weights / 'model.pth'}. Please ensure model is saved using torchscript."
    )
    two = tmp_path / "two"
    two.mkdir()
    torchscript(two / "a.pt")
    torchscript(two / "b.pth")
    with pytest.raises(ValueError) as ambiguous:
        ScriptRuntime.load(two, {}, framework_name="pytorch")
    assert str(ambiguous.value) == (
        "Exactly one .pth or .pt file is required for PyTorch models: ['a.pt', 'b.pth']"
    )
