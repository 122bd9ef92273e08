"""The built-in XGBoost starts without importing scikit-learn (about a second saved per
training job and model server), and scikit-learn still imports afterwards."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import sagebrush.algorithms.xgboost._train
import sagebrush.algorithms.xgboost._serve
assert "xgboost" in sys.modules
assert "sklearn" not in sys.modules, "scikit-learn was imported"
import xgboost.compat
assert not xgboost.compat.SKLEARN_INSTALLED
import sklearn.base  # still importable by anything that needs it
print("ok")
"""


def test_xgboost_modules_import_without_scikit_learn() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
