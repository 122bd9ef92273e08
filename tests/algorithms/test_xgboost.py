"""Training of the built-in XGBoost: the library's own model, every content type and mode.

Each job's model is compared with ``xgboost.train`` called directly on the same data and
params: the predictions are equal (the job adds nothing to xgboost's arithmetic).
"""

from __future__ import annotations

import io
import json
import re
import tarfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
import xgboost as xgb
from sklearn.datasets import dump_svmlight_file, load_breast_cancer, load_diabetes, load_digits
from sklearn.metrics import accuracy_score, f1_score, r2_score, roc_auc_score
from tests.algorithms._support import Channel, csv_bytes, failure, instance, train

from sagebrush.algorithms.xgboost import metric_definitions

CSV = "text/csv"


def _split(X, y, n):
    order = np.random.default_rng(0).permutation(len(y))
    return X[order[:n]], y[order[:n]], X[order[n:]], y[order[n:]]


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return _split(X, y, 450)


def _model(root) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray((root / "model" / "xgboost-model").read_bytes()))
    return booster


def _direct(params, X, y, rounds, **data) -> xgb.Booster:
    return xgb.train(params, xgb.DMatrix(X, label=y, **data), num_boost_round=rounds)


def _same(job: xgb.Booster, direct: xgb.Booster, X) -> np.ndarray:
    predictions = job.predict(xgb.DMatrix(X))
    assert np.abs(predictions - direct.predict(xgb.DMatrix(X))).max() <= 1e-6
    return predictions


def _metrics(output: str) -> dict[str, float]:
    """The last value of each metric, read with the regexes SageMaker's job uses."""
    found = {}
    for line in output.splitlines():
        for definition in metric_definitions():
            match = re.search(definition["Regex"], line)
            if match:
                found[definition["Name"]] = float(match.group(1))
    return found


def test_breast_cancer_csv_is_xgboost_with_its_metrics(tmp_path, cancer, capsys):
    X, y, Xv, yv = cancer
    hp = {"objective": "binary:logistic", "num_round": 20, "max_depth": 3, "eval_metric": "auc"}
    root = instance(
        tmp_path,
        hp,
        train=Channel({"train.csv": csv_bytes(X, y)}, CSV),
        # No ContentType: read as the train channel's, as SageMaker does.
        validation=Channel({"validation.csv": csv_bytes(Xv, yv)}),
    )
    assert train("xgboost", root) == 0, failure(root)
    output = capsys.readouterr().out
    assert re.search(r"^\[0\]#011train-auc:0\.\d{5}#011validation-auc:0\.\d{5}$", output, re.M)
    direct = _direct({"objective": "binary:logistic", "max_depth": 3}, X, y, 20)
    predictions = _same(_model(root), direct, Xv)
    auc = roc_auc_score(yv, predictions)
    assert auc > 0.98
    metrics = _metrics(output)
    assert metrics["validation:auc"] == pytest.approx(auc, abs=1e-5)
    assert set(metrics) == {"train:auc", "validation:auc"}


def test_digits_libsvm_is_the_default_content_type(tmp_path):
    X, y = load_digits(return_X_y=True)
    X, y, Xv, yv = _split(X, y, 1400)
    data = io.BytesIO()
    dump_svmlight_file(X, y, data, zero_based=True)
    hp = {"objective": "multi:softmax", "num_class": 10, "num_round": 8, "max_depth": 4}
    root = instance(tmp_path, hp, train=Channel({"part-0": data.getvalue()}))
    assert train("xgboost", root) == 0, failure(root)
    params = {"objective": "multi:softmax", "num_class": 10, "max_depth": 4}
    direct = _direct(params, sp.csr_matrix(X), y, 8)
    predictions = _same(_model(root), direct, sp.csr_matrix(Xv))
    assert accuracy_score(yv, predictions) > 0.9


def test_digits_softprob_from_parquet_gives_a_probability_per_class(tmp_path):
    X, y = load_digits(return_X_y=True)
    X, y, Xv, _ = _split(X, y, 1400)
    table = pa.table({f"c{i}": column for i, column in enumerate(np.column_stack([y, X]).T)})
    data = io.BytesIO()
    pq.write_table(table, data)
    hp = {"objective": "multi:softprob", "num_class": 10, "num_round": 5, "max_depth": 3}
    root = instance(
        tmp_path, hp, train=Channel({"digits.parquet": data.getvalue()}, "application/x-parquet")
    )
    assert train("xgboost", root) == 0, failure(root)
    params = {"objective": "multi:softprob", "num_class": 10, "max_depth": 3}
    predictions = _same(_model(root), _direct(params, X, y, 5), Xv)
    assert predictions.shape == (len(Xv), 10)


def test_pipe_mode_parquet_reads_every_object(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    parts = []
    for rows in (slice(0, 200), slice(200, None)):
        data = io.BytesIO()
        columns = np.column_stack([y[rows], X[rows]]).T
        pq.write_table(pa.table({f"c{i}": c for i, c in enumerate(columns)}), data)
        parts.append(data.getvalue())
    channel = Channel({"a": parts[0], "b": parts[1]}, "application/x-parquet", mode="Pipe")
    root = instance(tmp_path, {"num_round": 3}, train=channel)
    assert train("xgboost", root) == 0, failure(root)
    _same(_model(root), _direct({}, X, y, 3), X[:5])


def test_diabetes_regression_from_recordio_protobuf(tmp_path, capsys):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    X, y = load_diabetes(return_X_y=True)
    X, y, Xv, yv = _split(X, y, 350)
    buffers = []
    for features, labels in ((X, y), (Xv, yv)):
        out = io.BytesIO()
        write_numpy_to_dense_tensor(out, features.astype(np.float32), labels.astype(np.float32))
        buffers.append(out.getvalue())
    protobuf = "application/x-recordio-protobuf"
    hp = {"objective": "reg:squarederror", "num_round": 30, "max_depth": 2, "eta": 0.1}
    root = instance(
        tmp_path,
        hp,
        train=Channel({"train.rec": buffers[0]}, protobuf),
        validation=Channel({"validation.rec": buffers[1]}, protobuf),
    )
    assert train("xgboost", root) == 0, failure(root)
    params = {"objective": "reg:squarederror", "max_depth": 2, "eta": 0.1}
    direct = _direct(params, X.astype(np.float32), y.astype(np.float32), 30)
    predictions = _same(_model(root), direct, Xv.astype(np.float32))
    rmse = float(np.sqrt(np.mean((predictions - yv.astype(np.float32)) ** 2)))
    assert rmse < 60
    assert _metrics(capsys.readouterr().out)["validation:rmse"] == pytest.approx(rmse, abs=1e-3)


def test_pipe_mode_csv_with_weights(tmp_path, cancer):
    X, y, Xv, _ = cancer
    weights = np.where(y == 1, 2.0, 0.5)
    rows = csv_bytes(np.column_stack([weights, X]), y)
    hp = {"objective": "binary:logistic", "num_round": 5, "csv_weights": 1}
    root = instance(tmp_path, hp, train=Channel({"a": rows}, CSV, mode="Pipe"))
    assert train("xgboost", root) == 0, failure(root)
    direct = _direct({"objective": "binary:logistic"}, X, y, 5, weight=weights)
    _same(_model(root), direct, Xv)


def test_libsvm_weights_and_pipe_refusal(tmp_path):
    rows = b"1:2 0:1 1:0.5\n0:1 0:0 1:1.5\n1 0:3 1:0.1\n0 0:0.2 1:2\n"
    hp = {"objective": "binary:logistic", "num_round": 2}
    root = instance(tmp_path / "a", hp, train=Channel({"w": rows}, "text/x-libsvm"))
    assert train("xgboost", root) == 0, failure(root)
    features = np.asarray([[1, 0.5], [0, 1.5], [3, 0.1], [0.2, 2]], np.float32)
    labels = np.asarray([1, 0, 1, 0], np.float32)
    direct = _direct({"objective": "binary:logistic"}, features, labels, 2, weight=[2, 1, 1, 1])
    _same(_model(root), direct, features)
    root = instance(tmp_path / "b", hp, train=Channel({"w": rows}, "text/libsvm", mode="Pipe"))
    assert train("xgboost", root) == 1
    assert failure(root).startswith("ClientError: Pipe mode is not supported for text/libsvm")


def test_libsvm_files_of_different_widths(tmp_path):
    # Each file names only the features it uses: the second reaches column 3, the first 1.
    files = {"a": b"1 0:1 1:0.5\n0 0:0.1\n", "b": b"1 3:2\n0 0:0.3 2:1\n"}
    hp = {"objective": "binary:logistic", "num_round": 2}
    root = instance(tmp_path, hp, train=Channel(files, "text/libsvm"))
    assert train("xgboost", root) == 0, failure(root)
    features = np.asarray(
        [[1, 0.5, 0, 0], [0.1, 0, 0, 0], [0, 0, 0, 2], [0.3, 0, 1, 0]], np.float32
    )
    labels = np.asarray([1, 0, 1, 0], np.float32)
    _same(_model(root), _direct({"objective": "binary:logistic"}, features, labels, 2), features)


def test_model_channel_continues_the_booster(tmp_path, cancer):
    X, y, Xv, _ = cancer
    hp = {"objective": "binary:logistic", "num_round": 3, "max_depth": 2}
    first = instance(tmp_path / "one", hp, train=Channel({"t.csv": csv_bytes(X, y)}, CSV))
    assert train("xgboost", first) == 0, failure(first)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(first / "model" / "xgboost-model", arcname="xgboost-model")
    second = instance(
        tmp_path / "two",
        hp | {"num_round": 2},
        train=Channel({"t.csv": csv_bytes(X, y)}, CSV),
        model=Channel({"model.tar.gz": archive.getvalue()}, "application/x-sagemaker-model"),
    )
    assert train("xgboost", second) == 0, failure(second)
    continued = _model(second)
    assert continued.num_boosted_rounds() == 5
    params = {"objective": "binary:logistic", "max_depth": 2}
    base = _direct(params, X, y, 3)
    direct = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=2, xgb_model=base)
    _same(continued, direct, Xv)


def test_a_restarted_job_resumes_from_its_checkpoints(tmp_path, cancer, capsys):
    X, y, Xv, _ = cancer
    hp = {"objective": "binary:logistic", "num_round": 3}

    def job(name, rounds, checkpoints=None):
        root = instance(
            tmp_path / name, hp | {"num_round": rounds}, train=Channel({"t": csv_bytes(X, y)}, CSV)
        )
        config = {"LocalPath": str(root / "checkpoints")}
        (root / "input" / "config" / "checkpointconfig.json").write_text(json.dumps(config))
        for path in checkpoints or []:
            (root / "checkpoints" / path.name).write_bytes(path.read_bytes())
        assert train("xgboost", root) == 0, failure(root)
        return root

    first = job("first", 3)
    saved = sorted(p.name for p in (first / "checkpoints").iterdir())
    assert saved == ["xgboost-checkpoint.0", "xgboost-checkpoint.1", "xgboost-checkpoint.2"]
    capsys.readouterr()
    second = job("second", 5, list((first / "checkpoints").iterdir()))
    rounds = re.findall(r"^\[(\d+)\]", capsys.readouterr().out, re.M)
    assert rounds == ["3", "4"]
    _same(_model(second), _direct({"objective": "binary:logistic"}, X, y, 5), Xv)


def test_tuning_objective_is_evaluated_and_watched_by_early_stopping(tmp_path, cancer, capsys):
    X, y, Xv, yv = cancer
    hp = {
        "objective": "binary:logistic",
        "num_round": 200,
        "eta": 0.5,
        "eval_metric": "logloss",
        "early_stopping_rounds": 3,
        "_tuning_objective_metric": "validation:f1",
    }
    root = instance(
        tmp_path,
        hp,
        train=Channel({"t": csv_bytes(X, y)}, CSV),
        validation=Channel({"v": csv_bytes(Xv, yv)}, CSV),
    )
    assert train("xgboost", root) == 0, failure(root)
    output = capsys.readouterr().out
    assert {n.split(":")[1] for n in _metrics(output)} == {"f1", "logloss"}
    rounds = len(re.findall(r"^\[\d+\]", output, re.M))
    assert rounds < 200
    # The model kept is the best round for validation:f1, as xgboost's own early stopping
    # with that metric keeps it.
    stopper = xgb.callback.EarlyStopping(
        rounds=3, metric_name="f1", data_name="validation", maximize=True, save_best=True
    )

    def f1(probabilities, data):
        return "f1", f1_score(data.get_label(), (probabilities > 0.5).astype(int), average="macro")

    direct = xgb.train(
        {"objective": "binary:logistic", "eta": 0.5, "eval_metric": "logloss"},
        xgb.DMatrix(X, label=y),
        200,
        evals=[(xgb.DMatrix(Xv, label=yv), "validation")],
        custom_metric=f1,
        callbacks=[stopper],
        verbose_eval=False,
    )
    booster = _model(root)
    assert booster.num_boosted_rounds() == direct.num_boosted_rounds() <= rounds - 3
    _same(booster, direct, Xv)


def test_custom_metrics_are_computed_on_margins(tmp_path, cancer, capsys):
    X, y, Xv, yv = cancer
    hp = {"objective": "binary:logistic", "num_round": 4, "eval_metric": "f1,mse,r2,accuracy"}
    root = instance(
        tmp_path,
        hp,
        train=Channel({"t": csv_bytes(X, y)}, CSV),
        validation=Channel({"v": csv_bytes(Xv, yv)}, CSV),
    )
    assert train("xgboost", root) == 0, failure(root)
    last = _metrics(capsys.readouterr().out)
    margins = _model(root).predict(xgb.DMatrix(Xv), output_margin=True)
    labels = yv.astype(np.float32)
    assert last["validation:f1"] == pytest.approx(
        f1_score(labels, margins > 0, average="macro"), abs=1e-5
    )
    assert last["validation:accuracy"] == pytest.approx(
        accuracy_score(labels, margins > 0), abs=1e-5
    )
    assert last["validation:mse"] == pytest.approx(np.mean((labels - margins) ** 2), rel=1e-5)
    assert last["validation:r2"] == pytest.approx(r2_score(labels, margins), abs=1e-5)
    # No xgboost metric asked for: xgboost's default one is logged too, as in the container.
    assert "validation:logloss" in last


@pytest.mark.parametrize(
    ("hyperparameters", "channels", "reason"),
    [
        ({"num_round": -1}, {}, "XGBoost rejected hyperparameter num_round: value '-1'"),
        ({"objective": "binary:logistic"}, {}, "Missing required hyperparameter: num_round"),
        ({"num_round": 2, "objective": "nope"}, {}, "XGBoost rejected hyperparameter objective"),
        ({"num_round": 2, "max_dpeth": 3}, {}, "Unknown hyperparameter(s): max_dpeth."),
        ({"num_round": 2, "eta": 1.5}, {}, "XGBoost rejected hyperparameter eta"),
        (
            {"num_round": 2, "objective": "multi:softmax"},
            {},
            "XGBoost rejected hyperparameter objective: multi:softmax needs num_class",
        ),
        (
            {"num_round": 2, "eval_metric": "auc"},
            {},
            "XGBoost rejected hyperparameter eval_metric: metric 'auc' can only be applied",
        ),
        (
            {"num_round": 2, "eval_metric": "logloss,nope"},
            {},
            "XGBoost rejected hyperparameter eval_metric: 'nope' is not a metric",
        ),
        (
            {"num_round": 2, "eval_metric": "rmse@3"},
            {},
            "XGBoost rejected hyperparameter eval_metric: 'rmse@3': a threshold",
        ),
        (
            {"num_round": 2, "booster": "gblinear", "updater": "grow_colmaker"},
            {},
            "XGBoost rejected hyperparameter updater: with booster gblinear",
        ),
        (
            {"num_round": 2, "monotone_constraints": "(1,-1)"},
            {},
            "XGBoost rejected hyperparameter monotone_constraints: it can be used only",
        ),
        ({"num_round": 2, "eta": 0.1, "learning_rate": 0.2}, {}, "Hyperparameters eta and"),
        (
            {"num_round": 2, "tree_method": "gpu_hist"},
            {},
            "XGBoost rejected hyperparameter tree_method: gpu_hist needs a GPU",
        ),
        (
            {"num_round": 2, "_tuning_objective_metric": "test:auc"},
            {},
            "Tuning objective metric test:auc is not a metric of this algorithm",
        ),
        ({"num_round": 2}, {"test": Channel({"t": b"1,2\n"}, CSV)}, "Extraneous channel found"),
        ({"num_round": 2}, {"train": None}, "Missing required channel: train"),
        (
            {"num_round": 2},
            {"train": Channel({"t": b"1,2\n"}, "text/csv;label_size=2")},
            "Content type text/csv;label_size=2 is not supported for channel 'train'",
        ),
        (
            {"num_round": 2},
            {"train": Channel({"t": b"1,2\n"}, "application/x-image")},
            "Content type application/x-image is not supported for channel 'train'",
        ),
        (
            {"num_round": 2},
            {"train": Channel({"t": b"1,2\nyes,no\n"}, CSV)},
            "Unable to parse text/csv t in channel 'train'",
        ),
        ({"num_round": 2}, {"train": Channel({"t": b""}, CSV)}, "No records in channel 'train'"),
        (
            {"num_round": 2, "objective": "binary:logistic"},
            {"train": Channel({"t": b"3,1\n0,2\n"}, CSV)},
            "XGBoost rejected the job's parameters or data",
        ),
    ],
)
def test_bad_jobs_fail_with_a_client_error(tmp_path, hyperparameters, channels, reason):
    given = {"train": Channel({"t.csv": b"1,2,3\n0,1,1\n"}, CSV)} | channels
    root = instance(tmp_path, hyperparameters, **{k: v for k, v in given.items() if v})
    assert train("xgboost", root) == 1
    assert failure(root).startswith("ClientError: " + reason), failure(root)


def test_hyperparameters_reach_xgboost_as_sagemaker_validates_them():
    from sagebrush.algorithms.xgboost._params import parse

    config = parse(
        {
            "num_round": "7",
            "learning_rate": "0.2",
            "reg_lambda": "2",
            "max_depth": "4",
            "tree_method": "hist",
            "monotone_constraints": "(1,-1)",
            "interaction_constraints": "[[1, 2], [3]]",
            "updater": "grow_quantile_histmaker,prune",
            "eval_metric": "error@0.7,ndcg@3,logloss,f1",
            "objective": "binary:logistic",
            "early_stopping_rounds": "5",
            "seed": "-5",
        }
    )
    assert config.num_round == 7
    assert config.params == {
        "eta": 0.2,
        "lambda": 2.0,
        "max_depth": 4,
        "tree_method": "hist",
        "monotone_constraints": "(1,-1)",
        "interaction_constraints": "[[1, 2], [3]]",
        "updater": "grow_quantile_histmaker,prune",
        "objective": "binary:logistic",
        "seed": -5,
        "eval_metric": ["error@0.7", "ndcg@3", "logloss"],
    }
    assert (config.custom_metrics, config.early_stopping_metric) == (("f1",), "f1")


def test_recordio_without_labels_is_refused(tmp_path):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    out = io.BytesIO()
    write_numpy_to_dense_tensor(out, np.ones((3, 2), np.float32))
    channel = Channel({"r": out.getvalue()}, "application/x-recordio-protobuf")
    root = instance(tmp_path, {"num_round": 2}, train=channel)
    assert train("xgboost", root) == 1
    assert "ClientError: Got input data without labels in channel 'train'" in failure(root)


def test_metric_definitions_name_every_channel_and_container_metric():
    names = {d["Name"] for d in metric_definitions()}
    for metric in ("auc", "rmse", "f1", "accuracy", "mse", "r2", "logloss", "mlogloss"):
        assert {f"train:{metric}", f"validation:{metric}"} <= names
    regex = next(d["Regex"] for d in metric_definitions() if d["Name"] == "validation:error")
    line = "[7]#011train-merror:0.25000#011validation-merror:0.5#011validation-error:0.125"
    assert re.search(regex, line).group(1) == "0.125"
