"""xgboost, imported without scikit-learn.

``xgboost.compat`` imports scikit-learn — and through it scipy.stats and pandas — only to
offer its scikit-learn estimators, which the built-in algorithm never uses. That is about
a second of every training job's and model server's start on a small machine. While
xgboost is first imported, scikit-learn is made unimportable (``sys.modules`` entry None,
which ``import`` reports as ImportError and xgboost takes as "not installed"); the entry is
removed right after, so anything else can still import it. Where xgboost or scikit-learn
is already imported (the server's own tests), nothing changes.
"""

from __future__ import annotations

import sys

if "xgboost" not in sys.modules and "sklearn" not in sys.modules:
    sys.modules["sklearn"] = None  # type: ignore[assignment]
    try:
        import xgboost as xgb
    finally:
        del sys.modules["sklearn"]
else:
    import xgboost as xgb

__all__ = ["xgb"]
