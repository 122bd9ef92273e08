"""``python -m sagebrush.inference`` as the platform starts it: one model, and multi-model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import numpy as np
from tests.inference._support import ROOT, free_port, linear_model, serving, sklearn_model_dir

ROWS = [[1.0, 2.0], [3.0, 4.0]]

ECHO_ATTRIBUTES = """
import json
import os
import joblib

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))

def output_fn(prediction, accept, context):
    return json.dumps({"predictions": prediction.tolist(),
                       "attributes": context.custom_attributes}), "application/json"
"""


def predictions(rows: list[list[float]], scale: float = 1.0) -> list[float]:
    found: list[float] = (
        scale * linear_model().predict(np.asarray(rows, dtype=np.float32))
    ).tolist()
    return found


def test_one_model_served_over_http(tmp_path: Path) -> None:
    model_dir = sklearn_model_dir(tmp_path / "model", ECHO_ATTRIBUTES)
    args = ["--framework", "sklearn", "--model-dir", str(model_dir)]
    with serving(args) as server:
        reply = server.request(
            "POST",
            "/invocations",
            json.dumps(ROWS).encode(),
            {"Content-Type": "application/json", "X-Amzn-SageMaker-Custom-Attributes": "a=1"},
        )
        assert (reply.status, reply.content_type) == (200, "application/json")
        assert json.loads(reply.body) == {"predictions": predictions(ROWS), "attributes": "a=1"}
        refused = server.request("POST", "/invocations", b"x", {"Content-Type": "image/png"})
        assert refused.status == 415


def test_a_model_that_will_not_load_exits_with_its_reason(tmp_path: Path) -> None:
    model_dir = sklearn_model_dir(tmp_path / "model", script="x = 1\n")
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "sagebrush.inference", "--framework", "sklearn"),
            *("--model-dir", str(model_dir), "--port", str(free_port())),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (
        1,
        "Failed to load the sklearn model: NotImplementedError: Please provide a model_fn "
        "implementation. See documentation for model_fn at "
        "https://github.com/aws/sagemaker-python-sdk\n",
    )


# Two models whose scripts share a name and differ: each must keep its own module.
SCALED = """
import json
import os
import joblib

SCALE = {scale}

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))

def predict_fn(data, model):
    return SCALE * model.predict(data)
"""


def test_multi_model_api(tmp_path: Path) -> None:
    one = sklearn_model_dir(tmp_path / "one" / "model", SCALED.format(scale=1.0))
    ten = sklearn_model_dir(tmp_path / "ten" / "model", SCALED.format(scale=10.0))
    name_one, name_ten = "models/one.tar.gz", "ten"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEMAKER_")}
    with serving(["--multi-model", "--framework", "sklearn"], env) as server:

        def load(name: str, url: Path | str) -> tuple[int, dict[str, object]]:
            reply = server.request(
                "POST", "/models", json.dumps({"model_name": name, "url": str(url)}).encode()
            )
            return reply.status, json.loads(reply.body)

        def invoke(name: str) -> tuple[int, bytes]:
            reply = server.request(
                "POST",
                f"/models/{quote(name, safe='')}/invoke",
                json.dumps(ROWS).encode(),
                {"Content-Type": "application/json", "Accept": "application/json"},
            )
            return reply.status, reply.body

        assert load(name_one, one) == (200, {"status": f'Model "{name_one}" loaded'})
        assert load(name_ten, ten) == (200, {"status": 'Model "ten" loaded'})
        assert load(name_ten, one) == (
            409,
            {
                "code": 409,
                "type": "ConflictStatusException",
                "message": "Model ten is already loaded",
            },
        )
        assert load("other", tmp_path / "absent")[0] == 404
        assert server.request("POST", "/models", b'{"url": "/x"}').status == 400

        assert invoke(name_one) == (200, json.dumps(predictions(ROWS)).encode())
        assert invoke(name_ten) == (200, json.dumps(predictions(ROWS, 10.0)).encode())
        assert invoke("absent")[0] == 404

        listing = server.request("GET", "/models")
        assert json.loads(listing.body) == {
            "models": [
                {"modelName": name_one, "modelUrl": str(one)},
                {"modelName": name_ten, "modelUrl": str(ten)},
            ]
        }
        page = server.request("GET", "/models?limit=1")
        assert json.loads(page.body) == {
            "models": [{"modelName": name_one, "modelUrl": str(one)}],
            "nextPageToken": "1",
        }
        described = server.request("GET", f"/models/{quote(name_one, safe='')}")
        assert json.loads(described.body) == {"modelName": name_one, "modelUrl": str(one)}

        assert server.request("DELETE", f"/models/{quote(name_one, safe='')}").status == 200
        assert server.request("DELETE", f"/models/{quote(name_one, safe='')}").status == 404
        assert server.request("GET", f"/models/{quote(name_one, safe='')}").status == 404
        assert invoke(name_one)[0] == 404
        assert invoke(name_ten) == (200, json.dumps(predictions(ROWS, 10.0)).encode())
        # Unloaded, the name is free to load again.
        assert load(name_one, one)[0] == 200
        assert invoke(name_one) == (200, json.dumps(predictions(ROWS)).encode())
