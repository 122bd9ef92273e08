"""LightGBM's training data: CSV files, the JumpStart folder layout, categorical columns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from sagebrush.algorithms._instance import Instance
from sagebrush.algorithms.data import CSV, parse_content_type
from sagebrush.algorithms.data.loading import read_csv_matrix
from sagebrush.algorithms.errors import ClientError

TRAIN_CHANNELS = ("train", "training")
VALIDATION_FRACTION = 0.2  # held out when no validation data is given
SPLIT_SEED = 0
_INT32_MAX = 2147483647


@dataclass(frozen=True)
class Table:
    features: np.ndarray  # float64, NaN where a value is missing
    labels: np.ndarray


@dataclass(frozen=True)
class TrainingData:
    train: Table
    validation: Table | None  # None: hold out part of train
    categorical: list[int]  # feature indices (the CSV column less one)


def read_csv(source: Path | bytes) -> np.ndarray:
    """A headerless numeric CSV as float64, as the JumpStart scripts' pandas reads it."""
    return read_csv_matrix(source, np.float64)


def load(instance: Instance) -> TrainingData:
    name = _train_channel(instance)
    root = _channel_root(instance, name)
    if (root / "train").is_dir():
        # JumpStart's layout: train/, optional validation/, categorical_index.json beside.
        train_files = _csv_files(root / "train")
        validation_files = _csv_files(root / "validation")
        json_files = sorted(p for p in root.glob("*.json") if p.is_file())
    else:
        train_files = _csv_files(root)
        validation_files = []
        json_files = [p for p in _files(root) if p.suffix == ".json"]
    train = _table(train_files, f"channel '{name}'")
    if "validation" in instance.channels:
        validation_root = _channel_root(instance, "validation")
        validation: Table | None = _table(_csv_files(validation_root), "channel 'validation'")
    elif validation_files:
        validation = _table(validation_files, f"channel '{name}' (validation/)")
    else:
        validation = None
    if validation is not None and validation.features.shape[1] != train.features.shape[1]:
        raise ClientError(
            f"The validation data has {validation.features.shape[1] + 1} columns and the "
            f"training data {train.features.shape[1] + 1}: they must have the same columns"
        )
    categorical = _categorical(json_files, train.features.shape[1] + 1, name)
    return TrainingData(train, validation, categorical)


def _train_channel(instance: Instance) -> str:
    present = [name for name in TRAIN_CHANNELS if name in instance.channels]
    if not present:
        raise ClientError(
            "Channel 'train' (or 'training') is required but was not provided; "
            f"channels given: {', '.join(sorted(instance.channels)) or 'none'}"
        )
    if len(present) > 1:
        raise ClientError("Give the training data in channel 'train' or 'training', not both")
    return present[0]


def _channel_root(instance: Instance, name: str) -> Path:
    config = instance.channels[name]
    mode = instance.input_mode(name)
    if mode == "Pipe":
        raise ClientError(
            f"Channel '{name}' uses Pipe mode: LightGBM reads its channels as files; "
            "use TrainingInputMode File or FastFile"
        )
    content_type = parse_content_type(config.get("ContentType"), CSV)
    if content_type.media != CSV:
        raise ClientError(
            f"Content type {content_type} is not supported for channel '{name}': "
            "LightGBM supports text/csv"
        )
    return instance.root / "input" / "data" / name


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _csv_files(folder: Path) -> list[Path]:
    return [p for p in _files(folder) if p.suffix != ".json"]


def _table(files: list[Path], what: str) -> Table:
    blocks = []
    for path in files:
        try:
            block = read_csv(path)
        except ValueError as exc:
            raise ClientError(f"Unable to parse CSV file {path.name} in {what}: {exc}") from None
        if block.size:
            blocks.append((path, block))
    if not blocks:
        raise ClientError(f"No data in {what}: it needs CSV files, the label in column 1")
    widths = {block.shape[1] for _, block in blocks}
    if len(widths) > 1:
        raise ClientError(f"The CSV files in {what} have different numbers of columns")
    width = widths.pop()
    if width < 2:
        raise ClientError(
            f"{blocks[0][0].name} in {what} has 1 column: LightGBM needs the label "
            "followed by at least one feature"
        )
    matrix = np.vstack([block for _, block in blocks])
    labels = matrix[:, 0]
    if np.isnan(labels).any():
        row = int(np.flatnonzero(np.isnan(labels))[0]) + 1
        raise ClientError(f"Row {row} of {what} has no label (its first column is empty)")
    return Table(np.ascontiguousarray(matrix[:, 1:]), labels.copy())


def _categorical(json_files: list[Path], columns: int, channel: str) -> list[int]:
    if not json_files:
        return []
    if len(json_files) > 1:
        names = ", ".join(p.name for p in json_files)
        raise ClientError(
            f"Channel '{channel}' holds {len(json_files)} JSON files ({names}): "
            "give at most one, categorical_index.json"
        )
    path = json_files[0]
    try:
        content = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClientError(f"{path.name} is not valid JSON: {exc}") from None
    indices = content.get("cat_index_list") if isinstance(content, dict) else None
    if not isinstance(indices, list):
        raise ClientError(f'{path.name} must be a JSON object {{"cat_index_list": [...]}}')
    for index in indices:
        if not isinstance(index, int) or isinstance(index, bool):
            raise ClientError(f"{path.name}: cat_index_list holds {index!r}, not an integer")
        if not 0 < index < min(columns, _INT32_MAX):
            raise ClientError(
                f"{path.name}: column index {index} in cat_index_list is out of range: "
                f"the label is column 0 and the data has {columns} columns, so indices "
                f"are 1 to {columns - 1}"
            )
    if len(set(indices)) != len(indices):
        raise ClientError(f"{path.name}: cat_index_list repeats a column index")
    return [index - 1 for index in indices]


def hold_out(train: Table, classification: bool) -> tuple[Table, Table]:
    """Split 20% of the training rows off as validation data (per class, when it can)."""
    if len(train.labels) < 2:
        raise ClientError(
            "The training data has 1 row: with no validation data, LightGBM holds out 20% "
            "of the training rows, which needs at least 2"
        )
    indices = np.arange(len(train.labels))
    stratify = train.labels if classification else None
    try:
        fit, held = train_test_split(
            indices, test_size=VALIDATION_FRACTION, random_state=SPLIT_SEED, stratify=stratify
        )
    except ValueError:
        # Too few rows of some class to split each class: split the rows as they come.
        fit, held = train_test_split(
            indices, test_size=VALIDATION_FRACTION, random_state=SPLIT_SEED
        )
    fit, held = np.sort(fit), np.sort(held)
    return (
        Table(train.features[fit], train.labels[fit]),
        Table(train.features[held], train.labels[held]),
    )
