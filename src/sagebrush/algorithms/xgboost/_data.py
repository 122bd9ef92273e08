"""The built-in XGBoost's channels as ``xgboost.DMatrix``: content types, labels, weights.

``text/libsvm`` (the default when a channel names no ContentType, as in SageMaker;
``<label>[:<weight>] [qid:<q>] <index>:<value> ...``, indices as written, 0-based),
``text/csv`` (label first, no header; ``label_size`` may only be 1; with ``csv_weights=1``
the second column is the instance weight), ``application/x-parquet`` (label first) and
``application/x-recordio-protobuf`` (the record's label). File and FastFile channels read
every file; Pipe channels read epoch 0 of their FIFO (libsvm is File-only, as in SageMaker).
CSV, parquet and RecordIO-protobuf go through the shared readers (pyarrow for CSV).
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms._instance import Instance
from sagebrush.algorithms.data import (
    CSV,
    LIBSVM,
    PARQUET,
    RECORDIO_PROTOBUF,
    ContentType,
    parse_content_type,
    parse_sources,
)
from sagebrush.algorithms.data.loading import widen
from sagebrush.algorithms.errors import ClientError
from sagebrush.algorithms.xgboost._lib import xgb

SUPPORTED = (LIBSVM, CSV, PARQUET, RECORDIO_PROTOBUF)
CHANNELS = ("train", "validation", "model", "code")
MODEL_FILE = "xgboost-model"
_QID = re.compile(rb"(^|\s)qid:")


def check_channels(instance: Instance) -> None:
    """``train`` is required; channels the algorithm doesn't know are refused."""
    if "train" not in instance.channels:
        raise ClientError("Missing required channel: train")
    extra = sorted(set(instance.channels) - set(CHANNELS))
    if extra:
        raise ClientError(
            f"Extraneous channel found: {', '.join(extra)}. XGBoost reads the channels "
            "train (required), validation and model"
        )


def content_type(instance: Instance, channel: str) -> ContentType:
    raw = instance.channels[channel].get("ContentType")
    if raw is None and channel != "train":
        # SageMaker's container reads every channel as the train channel's content type.
        raw = instance.channels["train"].get("ContentType")
    parsed = parse_content_type(raw, LIBSVM)
    media = parsed.media
    if media not in SUPPORTED:
        raise ClientError(
            f"Content type {raw} is not supported for channel '{channel}': use text/libsvm "
            "(the default), text/csv, application/x-parquet or application/x-recordio-protobuf"
        )
    if media == CSV and parsed.params.get("label_size", "1") != "1":
        raise ClientError(
            f"Content type {raw} is not supported for channel '{channel}': XGBoost reads one "
            "label, in the first column (label_size must be 1)"
        )
    if media == LIBSVM and instance.input_mode(channel) == "Pipe":
        raise ClientError(
            f"Pipe mode is not supported for text/libsvm (channel '{channel}'): use File "
            "mode, or text/csv, application/x-parquet or application/x-recordio-protobuf"
        )
    return ContentType(media, {})


def load(instance: Instance, channel: str, *, csv_weights: bool = False) -> xgb.DMatrix:
    kind = content_type(instance, channel)
    sources = instance.channel_sources(channel)
    if not sources:
        raise ClientError(f"No data in channel '{channel}'")
    what = f"channel '{channel}'"
    features: np.ndarray | sp.csr_matrix
    labels: np.ndarray | None
    weights: np.ndarray | None = None
    qid: np.ndarray | None = None
    if kind.media == LIBSVM:
        features, labels, weights, qid = _libsvm(sources, what)
    else:
        dataset = parse_sources(sources, kind, 1, what=what)
        features, labels = dataset.features, dataset.labels
        if csv_weights and kind.media == CSV and len(dataset):
            if dataset.width < 2:
                raise ClientError(f"csv_weights=1 needs a weight column after the label in {what}")
            weights, features = features[:, 0], features[:, 1:]
    if features.shape[0] == 0:
        raise ClientError(f"No records in {what}")
    if labels is None or labels.size == 0:
        raise ClientError(
            f"Got input data without labels in {what}: XGBoost needs a label in every record"
        )
    if labels.ndim > 1:
        if labels.shape[1] != 1:
            raise ClientError(f"Records in {what} have {labels.shape[1]} labels: XGBoost takes one")
        labels = labels[:, 0]
    try:
        return xgb.DMatrix(features, label=labels, weight=weights, qid=qid)
    except xgb.core.XGBoostError as exc:
        raise ClientError(f"Unable to use the data in {what}: {exc}") from None


def _libsvm(
    sources: Sequence[Path | bytes], what: str
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray | None, np.ndarray | None]:
    parts = []
    for source in sources:
        data = source.read_bytes() if isinstance(source, Path) else source
        if data.strip():
            name = source.name if isinstance(source, Path) else "the data"
            parts.append(_libsvm_part(data, f"{name} in {what}"))
    if not parts:
        raise ClientError(f"No records in {what}")
    width = max(p[0].shape[1] for p in parts)
    features = sp.vstack([widen(p[0], width) for p in parts], format="csr")
    labels = np.concatenate([p[1] for p in parts])
    weighted = [p[2] is not None for p in parts]
    weights = None
    if any(weighted):
        weights = np.concatenate(
            [p[2] if p[2] is not None else np.ones(len(p[1]), np.float32) for p in parts]
        )
    with_qid = [p[3] is not None for p in parts]
    if any(with_qid) and not all(with_qid):
        raise ClientError(f"Some files in {what} have qid: and others do not")
    qid = np.concatenate([p[3] for p in parts if p[3] is not None]) if all(with_qid) else None
    return features, labels, weights, qid


def _libsvm_part(
    data: bytes, what: str
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray | None, np.ndarray | None]:
    from sklearn.datasets import load_svmlight_file  # libsvm only: a slow import

    has_qid = _QID.search(data) is not None
    try:
        features, labels, qid = load_svmlight_file(
            io.BytesIO(data), dtype=np.float32, zero_based=True, query_id=True
        )
        weights = None
    except ValueError:
        # scikit-learn's reader has no <label>:<weight>: read such files line by line.
        features, labels, weights, qid = _libsvm_weighted(data, what)
    return (
        sp.csr_matrix(features, dtype=np.float32),
        np.asarray(labels, dtype=np.float32),
        weights,
        np.asarray(qid, dtype=np.uint32) if has_qid else None,
    )


def _libsvm_weighted(
    data: bytes, what: str
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    labels: list[float] = []
    weights: list[float] = []
    qids: list[int] = []
    indices: list[int] = []
    values: list[float] = []
    indptr = [0]
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        try:
            label, _, weight = line[0].partition(":")
            labels.append(float(label))
            weights.append(float(weight) if weight else 1.0)
            qid = 0
            for token in line[1:]:
                key, _, value = token.partition(":")
                if key == "qid":
                    qid = int(value)
                else:
                    indices.append(int(key))
                    values.append(float(value))
            qids.append(qid)
        except ValueError:
            raise ClientError(
                f"Line {number} of {what} is not libsvm "
                f"(<label>[:<weight>] [qid:<q>] <index>:<value> ...): '{raw[:50]}'"
            ) from None
        indptr.append(len(indices))
    if any(i < 0 for i in indices):
        raise ClientError(f"{what} has a negative feature index")
    width = max(indices, default=-1) + 1
    matrix = sp.csr_matrix(
        (np.asarray(values, np.float32), np.asarray(indices, np.int64), np.asarray(indptr)),
        shape=(len(labels), width),
    )
    return (
        matrix,
        np.asarray(labels, np.float32),
        np.asarray(weights, np.float32),
        np.asarray(qids, np.uint32),
    )


def model_channel(instance: Instance) -> xgb.Booster | None:
    """The booster in the ``model`` channel (``xgboost-model``, or a ``model.tar.gz``)."""
    if "model" not in instance.channels:
        return None
    files = instance.channel_files("model")
    named = [f for f in files if f.name == MODEL_FILE]
    archives = [f for f in files if f.name.endswith((".tar.gz", ".tgz"))]
    try:
        if named:
            return xgb.Booster(model_file=str(named[0]))
        if archives:
            with tarfile.open(archives[0]) as tar:
                member = tar.extractfile(MODEL_FILE)
                if member is None:
                    raise KeyError(MODEL_FILE)
                booster = xgb.Booster()
                booster.load_model(bytearray(member.read()))
                return booster
        if len(files) == 1:
            return xgb.Booster(model_file=str(files[0]))
    except (xgb.core.XGBoostError, KeyError, OSError, tarfile.TarError) as exc:
        raise ClientError(f"Unable to load the model in channel 'model': {exc}") from None
    raise ClientError(
        f"Channel 'model' has no {MODEL_FILE} file (or model.tar.gz holding one) to continue "
        "training from"
    )
