"""The Amazon algorithms' model file: an .npz archive under SageMaker's name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sagebrush.algorithms.artifacts import MODEL_FILE, load_arrays, save_arrays


def test_round_trip_keeps_the_name_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = save_arrays(tmp_path / "model", {"w": np.arange(3.0), "kind": np.str_("regressor")})
    assert path == tmp_path / "model" / MODEL_FILE
    assert sorted(p.name for p in path.parent.iterdir()) == [MODEL_FILE]
    with np.load(path) as archive:  # what a user does with the file
        np.testing.assert_array_equal(archive["w"], [0.0, 1.0, 2.0])
    arrays = load_arrays(tmp_path / "model", "PCA")
    assert str(arrays["kind"]) == "regressor"


def test_missing_and_foreign_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"no PCA model \\({MODEL_FILE}\\) in"):
        load_arrays(tmp_path, "PCA")
    (tmp_path / MODEL_FILE).write_bytes(b"an MXNet file, say")
    with pytest.raises(ValueError, match="is not a PCA model"):
        load_arrays(tmp_path, "PCA")
