"""ScriptRuntime in process: the sklearn defaults, the script's handlers, errors, requirements."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from tests.inference._support import call_asgi, linear_model, sklearn_model_dir, write_script

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving.runtime import Prediction
from sagebrush.algorithms.serving.server import ModelServer
from sagebrush.inference import RequirementsError, ScriptRuntime, relay_headers
from sagebrush.inference import _requirements as requirements_module
from sagebrush.inference._handlers import TRANSFORM_FN_CONFLICT

ROWS = [[1.0, 2.0], [3.0, 4.0], [-1.5, 0.5]]


def expected_predictions() -> np.ndarray:
    # The container reads JSON and CSV requests as float32 before model.predict.
    return np.asarray(linear_model().predict(np.asarray(ROWS, dtype=np.float32)))


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.fixture
def sklearn_runtime(tmp_path: Path) -> ScriptRuntime:
    return ScriptRuntime.load(sklearn_model_dir(tmp_path / "model"), {}, framework_name="sklearn")


def test_sklearn_defaults_read_json_csv_and_npy(sklearn_runtime: ScriptRuntime) -> None:
    expected = expected_predictions()
    as_json = json.dumps(expected.tolist()).encode()
    as_csv = "".join(f"{v}\n" for v in expected).encode()

    got = sklearn_runtime.invoke(json.dumps(ROWS).encode(), "application/json", None)
    assert got == Prediction(as_json, "application/json")
    got = sklearn_runtime.invoke(b"1,2\n3,4\n-1.5,0.5\n", "text/csv", "text/csv")
    assert got == Prediction(as_csv, "text/csv")
    # No Content-Type is JSON to the sklearn container; */* is the default accept.
    assert sklearn_runtime.invoke(json.dumps(ROWS).encode(), None, "*/*") == Prediction(
        as_json, "application/json"
    )
    # The first type of the Accept list the toolkit can write.
    got = sklearn_runtime.invoke(
        json.dumps(ROWS).encode(), "application/json", "application/xml, text/csv"
    )
    assert got == Prediction(as_csv, "text/csv")
    # NPY stays in the request's dtype (float64 here) and comes back as NPY.
    rows64 = np.asarray(ROWS)
    got = sklearn_runtime.invoke(npy(rows64), "application/x-npy", "application/x-npy")
    assert got.content_type == "application/x-npy"
    np.testing.assert_array_equal(
        np.load(io.BytesIO(got.body)), linear_model().predict(rows64), strict=True
    )
    # NPZ is a scipy sparse matrix, handed to the model as one.
    sparse = scipy.sparse.csr_matrix(rows64)
    buffer = io.BytesIO()
    scipy.sparse.save_npz(buffer, sparse)
    got = sklearn_runtime.invoke(buffer.getvalue(), "application/x-npz", None)
    assert got == Prediction(
        json.dumps(linear_model().predict(sparse).tolist()).encode(), "application/json"
    )


def test_default_accept_comes_from_the_environment(tmp_path: Path) -> None:
    runtime = ScriptRuntime.load(
        sklearn_model_dir(tmp_path / "model"),
        {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"},
        framework_name="sklearn",
    )
    got = runtime.invoke(json.dumps(ROWS).encode(), "application/json", None)
    assert got == Prediction("".join(f"{v}\n" for v in expected_predictions()).encode(), "text/csv")


def test_unsupported_formats_answer_415_and_406(sklearn_runtime: ScriptRuntime) -> None:
    with pytest.raises(InferenceError) as unreadable:
        sklearn_runtime.invoke(b"<rows/>", "application/xml", None)
    assert (unreadable.value.status, unreadable.value.message) == (
        415,
        "Content type application/xml is not supported by this framework. "
        "Implement input_fn to deserialize the request data in that format.",
    )
    with pytest.raises(InferenceError) as unwritable:
        sklearn_runtime.invoke(json.dumps(ROWS).encode(), "application/json", "image/png")
    assert (unwritable.value.status, unwritable.value.message) == (
        406,
        "Content type image/png is not supported by this framework. "
        "Implement output_fn to serialize the response in that format.",
    )


def test_sklearn_requires_model_fn(tmp_path: Path) -> None:
    model_dir = sklearn_model_dir(tmp_path / "model", script="x = 1\n")
    with pytest.raises(NotImplementedError) as failed:
        ScriptRuntime.load(model_dir, {}, framework_name="sklearn")
    assert str(failed.value) == (
        "Please provide a model_fn implementation. See documentation for model_fn at "
        "https://github.com/aws/sagemaker-python-sdk"
    )


FULL_SET = """
import json
import os

def model_fn(model_dir, context):
    return {"dir": model_dir, "name": context.model_name, "has_code": os.path.isdir(
        os.path.join(context.system_properties["model_dir"], "code"))}

def input_fn(body, content_type, context):
    return {"body_type": type(body).__name__, "body": body if isinstance(body, str) else
            body.hex(), "content_type": content_type}

def predict_fn(data, model):
    return {"input": data, "model": model}

def output_fn(prediction, accept, context):
    headers = context.request_processor[0].get_request_properties()
    prediction["attributes"] = [
        context.custom_attributes,
        context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes"),
        headers.get("x-amzn-sagemaker-custom-attributes"),
    ]
    prediction["accept"] = accept
    return json.dumps(prediction), "application/vnd.example+json"
"""


def test_a_full_handler_set_gets_the_request_context(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    write_script(model_dir / "code", FULL_SET)
    app = relay_headers(ModelServer(ScriptRuntime.load(model_dir, {}, framework_name="sklearn")))

    text = call_asgi(
        app,
        "POST",
        "/invocations",
        b"1,2",
        {"Content-Type": "text/csv", "X-Amzn-SageMaker-Custom-Attributes": "trace=abc"},
    )
    model = {"dir": str(model_dir), "name": "model", "has_code": True}
    assert (text.status, text.content_type) == (200, "application/vnd.example+json")
    assert json.loads(text.body) == {
        "input": {"body_type": "str", "body": "1,2", "content_type": "text/csv"},
        "model": model,
        "attributes": ["trace=abc", "trace=abc", "trace=abc"],
        "accept": "application/json",
    }
    raw = call_asgi(
        app,
        "POST",
        "/invocations",
        b"\x00\xff",
        {"Content-Type": "application/octet-stream", "Accept": "text/plain"},
    )
    assert json.loads(raw.body) == {
        "input": {"body_type": "bytes", "body": "00ff", "content_type": "application/octet-stream"},
        "model": model,
        "attributes": [None, None, None],
        "accept": "text/plain",
    }


def test_transform_fn_alone_and_its_return_forms(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    write_script(
        model_dir / "code",
        """
        def model_fn(model_dir):
            return 10

        def transform_fn(model, body, content_type, accept):
            if content_type == "text/plain":
                return body.upper()
            return (b"%d" % (model + len(body)), "text/x-count")
        """,
    )
    runtime = ScriptRuntime.load(model_dir, {}, framework_name="sklearn")
    assert runtime.invoke(b"abc", "text/csv", None) == Prediction(b"13", "text/x-count")
    # A bare body is labelled with the Accept the request asked for.
    assert runtime.invoke(b"abc", "text/plain", "text/plain") == Prediction(b"ABC", "text/plain")


def test_transform_fn_with_the_other_handlers_is_an_error(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    write_script(
        model_dir / "code",
        """
        def model_fn(model_dir): return 1
        def transform_fn(model, body, content_type, accept): return body
        def predict_fn(data, model): return data
        """,
    )
    with pytest.raises(ValueError) as failed:
        ScriptRuntime.load(model_dir, {}, framework_name="sklearn")
    assert str(failed.value) == TRANSFORM_FN_CONFLICT
    assert TRANSFORM_FN_CONFLICT == (
        "Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, "
        "and/or output_fn implementation"
    )


ERRORS = """
class InferenceToolkitError(Exception):
    # The shape of sagemaker_inference.errors.BaseInferenceToolkitError.
    def __init__(self, status_code, message, phrase):
        super().__init__(status_code, message, phrase)
        self.status_code, self.message, self.phrase = status_code, message, phrase

def model_fn(model_dir):
    return None

def transform_fn(model, body, content_type, accept):
    if body == "reject":
        raise InferenceToolkitError(422, "cannot score that", "Unprocessable")
    raise ValueError(f"no model for {body}")
"""


def test_errors_in_the_script_become_statuses(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    write_script(model_dir / "code", ERRORS)
    server = ModelServer(ScriptRuntime.load(model_dir, {}, framework_name="sklearn"))
    assert server.invoke(b"x", "application/json", None) == Prediction(
        b"ValueError: no model for x", "text/plain", 500
    )
    assert server.invoke(b"reject", "application/json", None) == Prediction(
        b"cannot score that", "text/plain", 422
    )


def test_handler_signatures_are_checked_at_load(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    write_script(
        model_dir / "code",
        """
        def model_fn(model_dir): return 1
        def input_fn(a, b, c, d): return a
        """,
    )
    with pytest.raises(TypeError) as failed:
        ScriptRuntime.load(model_dir, {}, framework_name="sklearn")
    assert str(failed.value) == "input_fn takes 4 arguments but 2 were given."


def test_code_dir_and_program_name(tmp_path: Path) -> None:
    model_dir = sklearn_model_dir(tmp_path / "model", script=None)
    code = tmp_path / "sourcedir"
    write_script(code, "import helper\n" + MODEL_FN_ONLY_WITH_HELPER, name="serve_it.py")
    write_script(code, "SCALE = 2.0\n", name="helper.py")
    env = {"SAGEMAKER_PROGRAM": "serve_it.py"}
    runtime = ScriptRuntime.load(model_dir, env, framework_name="sklearn", code_dir=code)
    got = runtime.invoke(json.dumps(ROWS).encode(), "application/json", None)
    assert got.body == json.dumps((2.0 * expected_predictions()).tolist()).encode()
    runtime.close()
    with pytest.raises(FileNotFoundError) as missing:
        ScriptRuntime.load(model_dir, {"SAGEMAKER_PROGRAM": "gone.py"}, code_dir=code)
    assert str(missing.value) == f"SAGEMAKER_PROGRAM gone.py is not in the code directory {code}"


MODEL_FN_ONLY_WITH_HELPER = """
import os
import joblib

class Scaled:
    def __init__(self, model):
        self.model = model
    def predict(self, rows):
        return helper.SCALE * self.model.predict(rows)

def model_fn(model_dir):
    return Scaled(joblib.load(os.path.join(model_dir, "model.joblib")))
"""


def test_satisfied_requirements_run_no_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = sklearn_model_dir(tmp_path / "model")
    (model_dir / "code" / "requirements.txt").write_text(
        "# already installed\nnumpy>=1.0\njoblib  # for the model\n"
        'no-such-package==1.0; python_version < "3.0"\n--extra-index-url http://127.0.0.1:9/\n'
    )
    calls: list[Any] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    runtime = ScriptRuntime.load(model_dir, {}, framework_name="sklearn")
    assert calls == []
    assert runtime.invoke(json.dumps(ROWS).encode(), "application/json", None).status == 200


def test_unmet_requirements_are_listed(tmp_path: Path) -> None:
    (tmp_path / "more.txt").write_text("numpy<1.0\nscikit-learn\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("joblib\nsagebrush-no-such-package==1.0\n-r more.txt\n-e ./local\n")
    assert requirements_module.unmet_requirements(requirements) == [
        "sagebrush-no-such-package==1.0",
        "numpy<1.0",
        "-e ./local",
    ]


def test_a_missing_requirement_fails_the_load_naming_it(tmp_path: Path) -> None:
    model_dir = sklearn_model_dir(tmp_path / "model")
    (model_dir / "code" / "requirements.txt").write_text("sagebrush-no-such-package==1.0\n")
    # Nowhere to download from, and no retries: pip fails at once, as it would offline.
    env = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "0"}
    with pytest.raises(RequirementsError) as failed:
        ScriptRuntime.load(model_dir, env, framework_name="sklearn")
    message = str(failed.value)
    assert message.startswith(
        "requirements.txt needs sagebrush-no-such-package==1.0, which pip could not install: "
    )
    assert "No matching distribution found for sagebrush-no-such-package==1.0" in message


def test_pip_is_asked_only_for_unmet_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("sagebrush-no-such-package\n")
    calls: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    requirements_module.ensure_requirements(requirements, {})
    assert [c[-2:] for c in calls] == [["-r", str(requirements)]]
