"""The multi-model server in process: load failures, encoded names, the request context."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from tests.inference._support import call_asgi, write_script

from sagebrush.algorithms.serving import load_runtime
from sagebrush.algorithms.serving.runtime import ModelRuntime
from sagebrush.inference import MultiModelServer, ScriptRuntime
from sagebrush.inference.__main__ import algorithm_loader

ECHO = """
def model_fn(model_dir, context):
    return context.model_name

def transform_fn(model, body, content_type, accept, context):
    return f"{model}|{body}|{context.custom_attributes}", "text/plain"
"""


def load_request(name: str, url: Path) -> bytes:
    return json.dumps({"model_name": name, "url": str(url)}).encode()


def test_load_failures_answer_507_for_memory_and_500_otherwise(tmp_path: Path) -> None:
    def loader(name: str, directory: Path) -> ModelRuntime:
        if name == "huge":
            raise MemoryError("cannot allocate 40 GiB")
        raise ValueError("the weights are truncated")

    app = MultiModelServer(loader)
    huge = call_asgi(app, "POST", "/models", load_request("huge", tmp_path))
    assert (huge.status, json.loads(huge.body)) == (
        507,
        {
            "code": 507,
            "type": "InsufficientStorage",
            "message": "Failed to load model huge: MemoryError: cannot allocate 40 GiB",
        },
    )
    broken = call_asgi(app, "POST", "/models", load_request("broken", tmp_path))
    assert (broken.status, json.loads(broken.body)["message"]) == (
        500,
        "Failed to load model broken: ValueError: the weights are truncated",
    )
    # A failed load leaves nothing behind: the name can be tried again.
    assert json.loads(call_asgi(app, "GET", "/models").body) == {"models": []}
    assert call_asgi(app, "POST", "/models", load_request("huge", tmp_path)).status == 507
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert call_asgi(app, "POST", "/models", load_request("f", not_a_dir)).status == 400


def test_names_are_read_from_the_encoded_path_and_headers_reach_the_script(
    tmp_path: Path,
) -> None:
    model_dir = tmp_path / "m"
    write_script(model_dir / "code", ECHO)

    def loader(name: str, directory: Path) -> ModelRuntime:
        return ScriptRuntime.load(
            directory, {}, code_dir=directory / "code", module_name="echo_x", model_name=name
        )

    app = MultiModelServer(loader)
    name = "a/b c.tar.gz"
    assert call_asgi(app, "POST", "/models", load_request(name, model_dir)).status == 200
    reply = call_asgi(
        app,
        "POST",
        "/models/a%2Fb%20c.tar.gz/invoke",
        b"hello",
        {"Content-Type": "text/csv", "X-Amzn-SageMaker-Custom-Attributes": "k=v"},
    )
    assert (reply.status, reply.body, reply.content_type) == (
        200,
        b"a/b c.tar.gz|hello|k=v",
        "text/plain",
    )
    described = call_asgi(app, "GET", "/models/a%2Fb%20c.tar.gz")
    assert json.loads(described.body) == {"modelName": name, "modelUrl": str(model_dir)}
    assert call_asgi(app, "PUT", "/models/a%2Fb%20c.tar.gz").status == 405
    assert call_asgi(app, "POST", "/invocations", b"x").status == 404


def test_built_in_algorithm_models_answer_as_their_own_server(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(40, 2))
    params = {"objective": "binary:logistic", "max_depth": 2, "nthread": 1}
    labels = (features[:, 0] > 0).astype(float)
    model = xgb.train(params, xgb.DMatrix(features, label=labels), num_boost_round=3)
    model.save_model(str(tmp_path / "xgboost-model"))

    app = MultiModelServer(algorithm_loader("xgboost", {}))
    assert call_asgi(app, "POST", "/models", load_request("clf", tmp_path)).status == 200
    body = b"0.5,-1.0\n-2.0,0.25"
    reply = call_asgi(app, "POST", "/models/clf/invoke", body, {"Content-Type": "text/csv"})
    alone = load_runtime("xgboost", tmp_path, {}).invoke(body, "text/csv", None)
    assert (reply.status, reply.body, reply.content_type) == (200, alone.body, alone.content_type)
    scores = model.predict(xgb.DMatrix(np.array([[0.5, -1.0], [-2.0, 0.25]], dtype=np.float32)))
    # An endpoint (not batch) gets the scores of all rows on one CSV line.
    assert [float(v) for v in reply.body.split(b",")] == pytest.approx(scores.tolist())
