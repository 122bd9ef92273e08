"""Training the built-in k-NN: quality against scikit-learn, sampling, reduction, errors."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits, load_wine
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors
from tests.algorithms._support import Channel, csv_bytes, failure, instance, train

from sagebrush.algorithms import knn
from sagebrush.algorithms.knn._index import Index

PROTOBUF = "application/x-recordio-protobuf"


def _split(loader):
    features, labels = loader(return_X_y=True)
    return train_test_split(features, labels, test_size=0.3, random_state=0)


def _metric(log: str, name: str) -> float:
    definition = next(d for d in knn.metric_definitions() if d["Name"] == name)
    found = re.findall(definition["Regex"], log)
    assert len(found) == 1, log
    return float(found[0])


def _job(tmp_path, hyperparameters, train_data, test_data=None, **channel):
    channels = {"train": Channel({"train.csv": csv_bytes(*train_data)}, **channel)}
    if test_data is not None:
        channels["test"] = Channel({"test.csv": csv_bytes(*test_data)}, **channel)
    root = instance(tmp_path, hyperparameters, **channels)
    return root, train("knn", root)


@pytest.mark.parametrize(
    ("loader", "predictor_type", "k"),
    [(load_digits, "classifier", 5), (load_wine, "classifier", 7), (load_diabetes, "regressor", 9)],
)
def test_quality_matches_scikit_learn(tmp_path, capsys, loader, predictor_type, k):
    x_train, x_test, y_train, y_test = _split(loader)
    hyperparameters = {
        "feature_dim": x_train.shape[1],
        "k": k,
        "sample_size": len(x_train),  # sampled = all
        "predictor_type": predictor_type,
    }
    root, code = _job(tmp_path, hyperparameters, (x_train, y_train), (x_test, y_test))
    assert code == 0, failure(root)
    log = capsys.readouterr().out
    if predictor_type == "classifier":
        reference = KNeighborsClassifier(n_neighbors=k).fit(x_train, y_train).predict(x_test)
        expected = float(np.mean(reference == y_test))
        assert _metric(log, "test:accuracy") == pytest.approx(expected, rel=0.02)
        assert "test:mse" not in log and "test mse" not in log
        assert f"#test_score (algo-1) : ('accuracy', {_metric(log, 'test:accuracy')!r})" in log
    else:
        reference = KNeighborsRegressor(n_neighbors=k).fit(x_train, y_train).predict(x_test)
        expected = float(np.mean((reference - y_test) ** 2))
        assert _metric(log, "test:mse") == pytest.approx(expected, rel=0.02)
        assert "test accuracy" not in log
        assert "#quality_metric: host=algo-1, test mse <loss>=" in log


def test_the_artifact_is_a_plain_npz(tmp_path):
    x_train, _, y_train, _ = _split(load_wine)
    hyperparameters = {
        "feature_dim": 13,
        "k": 3,
        "sample_size": 1000,
        "predictor_type": "classifier",
        "index_type": "faiss.IVFFlat",
        "faiss_index_ivf_nlists": "auto",
        "mini_batch_size": 100,
    }
    root, code = _job(tmp_path, hyperparameters, (x_train, y_train))
    assert code == 0, failure(root)
    with np.load(root / "model" / "model_algo-1", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["features"], x_train.astype(np.float32))
        np.testing.assert_array_equal(archive["labels"], y_train.astype(np.float32))
        assert archive["projection"].shape == (0, 0)
        assert int(archive["k"]) == 3 and int(archive["feature_dim"]) == 13
        assert str(archive["predictor_type"]) == "classifier"
        assert str(archive["index_metric"]) == "L2"
        assert str(archive["index_type"]) == "faiss.IVFFlat"
        assert str(archive["faiss_index_ivf_nlists"]) == "auto"


def test_sample_size_draws_a_repeatable_uniform_sample(tmp_path):
    rng = np.random.default_rng(1)
    features = rng.normal(size=(500, 4))
    labels = np.arange(500.0)  # the label names the record
    models = []
    for run in ("a", "b"):
        hyperparameters = {"feature_dim": 4, "k": 3, "sample_size": 120}
        hyperparameters["predictor_type"] = "regressor"
        root, code = _job(tmp_path / run, hyperparameters, (features, labels))
        assert code == 0, failure(root)
        models.append(Index.load(root / "model"))
    first, second = models
    np.testing.assert_array_equal(first.labels, second.labels)
    picked = first.labels.astype(int)
    assert len(set(picked)) == 120 and (np.diff(picked) > 0).all()
    np.testing.assert_array_equal(first.features, features[picked].astype(np.float32))
    # Uniform over the channel, not its head: about as many picks from each half.
    assert 40 < (picked < 250).sum() < 80


@pytest.mark.parametrize("kind", ["sign", "fjlt"])
def test_dimension_reduction_projects_training_and_queries(tmp_path, capsys, kind):
    x_train, x_test, y_train, y_test = _split(load_digits)
    hyperparameters = {
        "feature_dim": 64,
        "k": 5,
        "sample_size": 5000,
        "predictor_type": "classifier",
        "dimension_reduction_type": kind,
        "dimension_reduction_target": 32,
    }
    root, code = _job(tmp_path, hyperparameters, (x_train, y_train), (x_test, y_test))
    assert code == 0, failure(root)
    index = Index.load(root / "model")
    projection = index.projection
    assert projection.shape == (32, 64) and index.features.shape == (len(x_train), 32)
    magnitudes = np.unique(np.abs(projection))
    if kind == "sign":  # every entry +-1/sqrt(target)
        np.testing.assert_allclose(magnitudes, [1 / np.sqrt(32)], rtol=1e-6)
    else:  # sparse: density 1/sqrt(64), nonzeros +-sqrt(8/32)
        assert 0.05 < np.mean(projection != 0) < 0.2
        np.testing.assert_allclose(magnitudes, [0, np.sqrt(8 / 32)], rtol=1e-6)
    # Exactly k-NN in the projected space, and still a good classifier.
    reduced_train = (x_train.astype(np.float32) @ projection.T).astype(np.float32)
    reduced_test = (x_test.astype(np.float32) @ projection.T).astype(np.float32)
    np.testing.assert_allclose(index.features, reduced_train, rtol=1e-5)
    reference = KNeighborsClassifier(n_neighbors=5).fit(reduced_train, y_train)
    expected = float(np.mean(reference.predict(reduced_test) == y_test))
    accuracy = _metric(capsys.readouterr().out, "test:accuracy")
    assert accuracy == pytest.approx(expected, rel=0.02)
    assert accuracy > 0.9  # 0.959 (sign) and 0.941 (fjlt) with the fixed seed


@pytest.mark.parametrize("metric", ["COSINE", "INNER_PRODUCT"])
def test_index_metrics(tmp_path, metric):
    rng = np.random.default_rng(2)
    features = rng.normal(size=(200, 6)).astype(np.float32)
    labels = rng.integers(0, 3, 200).astype(np.float64)
    hyperparameters = {"feature_dim": 6, "k": 4, "sample_size": 200}
    hyperparameters |= {"predictor_type": "classifier", "index_metric": metric}
    root, code = _job(tmp_path, hyperparameters, (features, labels))
    assert code == 0, failure(root)
    queries = rng.normal(size=(30, 6)).astype(np.float32)
    found = Index.load(root / "model").query(queries)
    if metric == "COSINE":
        distances, indices = (
            NearestNeighbors(n_neighbors=4, metric="cosine").fit(features).kneighbors(queries)
        )
    else:
        products = queries.astype(np.float64) @ features.T.astype(np.float64)
        indices = np.argsort(-products, axis=1, kind="stable")[:, :4]
        distances = -np.take_along_axis(products, indices, axis=1)
    np.testing.assert_allclose(found.distances, distances, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(found.labels, labels[indices])
    assert (np.diff(found.distances, axis=1) >= 0).all()


def test_a_vote_tie_goes_to_the_smallest_label():
    index = Index(
        features=np.asarray([[0], [1], [2], [3], [10]], np.float32),
        labels=np.asarray([3, 1, 3, 1, 7], np.float32),
        k=4,
        predictor_type="classifier",
        metric="L2",
        feature_dim=1,
    )
    found = index.query(np.asarray([[1.5]], np.float32))
    assert found.predicted.tolist() == [1.0]
    assert sorted(found.labels[0].tolist()) == [1.0, 1.0, 3.0, 3.0]


def test_recordio_protobuf_from_the_sdk_in_pipe_mode(tmp_path, capsys):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    x_train, x_test, y_train, y_test = _split(load_wine)
    channels = {}
    for name, (features, labels) in {"train": (x_train, y_train), "test": (x_test, y_test)}.items():
        buffer = io.BytesIO()
        write_numpy_to_dense_tensor(buffer, features, labels)
        channels[name] = Channel({"part-0": buffer.getvalue()}, PROTOBUF, mode="Pipe")
    hyperparameters = {"feature_dim": 13, "k": 7, "sample_size": 500}
    root = instance(tmp_path, hyperparameters | {"predictor_type": "classifier"}, **channels)
    assert train("knn", root) == 0, failure(root)
    reference = KNeighborsClassifier(n_neighbors=7).fit(x_train, y_train).predict(x_test)
    expected = float(np.mean(reference == y_test))
    assert _metric(capsys.readouterr().out, "test:accuracy") == pytest.approx(expected, rel=0.02)


def test_sparse_recordio_protobuf_trains(tmp_path):
    import scipy.sparse as sp
    from sagemaker.amazon.common import write_spmatrix_to_sparse_tensor

    x_train, _, y_train, _ = _split(load_digits)
    buffer = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buffer, sp.csr_matrix(x_train), y_train)
    hyperparameters = {"feature_dim": 64, "k": 3, "sample_size": 5000}
    root = instance(
        tmp_path,
        hyperparameters | {"predictor_type": "classifier"},
        train=Channel({"part-0": buffer.getvalue()}, PROTOBUF),
    )
    assert train("knn", root) == 0, failure(root)
    index = Index.load(root / "model")
    np.testing.assert_array_equal(index.features, x_train.astype(np.float32))


BASE = {"feature_dim": 4, "k": 3, "sample_size": 50, "predictor_type": "classifier"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"k": None}, "Missing required hyperparameter: k"),
        ({"sample_size": None}, "Missing required hyperparameter: sample_size"),
        ({"predictor_type": None}, "Missing required hyperparameter: predictor_type"),
        ({"feature_dim": None}, "Missing required hyperparameter: feature_dim"),
        ({"predictor_type": "ranker"}, "it must be one of classifier, regressor"),
        ({"k": 0}, "Hyperparameter k: value '0' is invalid"),
        ({"sample_size": "many"}, "Hyperparameter sample_size: value 'many' is invalid"),
        ({"feature_dim": 5}, "has 4 feature column(s) but hyperparameter feature_dim is 5"),
        ({"k": 51}, "Hyperparameter k (51) is larger than the number of sampled training"),
        ({"sample_size": 2}, "Hyperparameter k (3) is larger than the number of sampled"),
        (
            {"dimension_reduction_type": "sign"},
            "dimension_reduction_target is required when dimension_reduction_type is set",
        ),
        (
            {"dimension_reduction_type": "fjlt", "dimension_reduction_target": 4},
            "dimension_reduction_target (4) must be less than feature_dim (4)",
        ),
        ({"dimension_reduction_type": "pca"}, "it must be one of sign, fjlt"),
        ({"index_type": "faiss.HNSW"}, "faiss.Flat, faiss.IVFFlat, faiss.IVFPQ"),
        ({"index_metric": "L1"}, "it must be one of L2, INNER_PRODUCT, COSINE"),
        (
            {"index_type": "faiss.IVFPQ", "index_metric": "COSINE"},
            "index_metric COSINE is not supported with index_type faiss.IVFPQ",
        ),
        ({"faiss_index_pq_m": 5}, "faiss_index_pq_m: value 5 is invalid"),
        ({"faiss_index_ivf_nlists": "some"}, "an integer in [1, inf) or 'auto'"),
        ({"kk": 3}, "Unknown hyperparameter(s): kk"),
    ],
)
def test_bad_hyperparameters_fail_with_a_client_error(tmp_path, change, message):
    features = np.random.default_rng(3).normal(size=(50, 4))
    hyperparameters = {k: v for k, v in (BASE | change).items() if v is not None}
    root, code = _job(tmp_path, hyperparameters, (features, np.zeros(50)))
    assert code == 1
    assert failure(root).startswith("ClientError: ")
    assert message in failure(root)


def test_channel_problems_fail_with_a_client_error(tmp_path):
    features = np.random.default_rng(4).normal(size=(50, 4))
    data = csv_bytes(features, np.zeros(50))
    cases = {
        "no-train": ({}, "Channel 'train' is required but was not provided"),
        "unlabelled": (
            {"train": Channel({"a": csv_bytes(features)}, "text/csv;label_size=0")},
            "Channel 'train' needs one label per record",
        ),
        "libsvm": (
            {"train": Channel({"a": b"0 1:1\n"}, "text/libsvm")},
            "Content type text/libsvm is not supported for channel 'train'",
        ),
        "nan": (
            {"train": Channel({"a": data + b"0,1,,2,3\n"})},
            "Channel 'train' has missing, NaN or infinite values",
        ),
        "narrow-test": (
            {
                "train": Channel({"a": data}),
                "test": Channel({"a": csv_bytes(features[:, :3], np.zeros(50))}),
            },
            "Channel 'test' has 3 feature column(s) but hyperparameter feature_dim is 4",
        ),
    }
    for name, (channels, message) in cases.items():
        root = instance(tmp_path / name, BASE, **channels)
        assert train("knn", root) == 1, name
        assert failure(root).startswith("ClientError: "), name
        assert message in failure(root), name


def test_metric_definitions_are_sagemakers_names():
    regex = {d["Name"]: d["Regex"] for d in knn.metric_definitions()}
    assert list(regex) == ["test:accuracy", "test:mse"]
    line = "#quality_metric: host=algo-1, test mse <loss>=0.013333333333333334"
    match = re.search(regex["test:mse"], line)
    assert match and float(match.group(1)) == pytest.approx(0.013333333333333334)
    assert not re.search(regex["test:accuracy"], line)
