"""The model the endpoint and transform benchmarks serve: a 100-tree binary:logistic
XGBoost on 30 seeded features, registered as SageMaker's XGBoost image would take it."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
FEATURES = 30


def train(root: Path, seed: int = 0) -> Path:
    """``<root>/model/xgboost-model``, trained on 2,000 x 30 seeded rows."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2000, FEATURES), dtype=np.float32)
    weights = rng.standard_normal(FEATURES).astype(np.float32)
    y = (X @ weights + rng.standard_normal(2000, dtype=np.float32) > 0).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": 6}
    booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=100)
    path = root / "model" / "xgboost-model"
    path.parent.mkdir()
    # Raw UBJSON bytes: the file name SageMaker wants has no suffix to tell xgboost the format.
    path.write_bytes(booster.save_raw("ubj"))
    return path


def register(server: Any, model_file: Path) -> None:
    """Bucket ``bench``, the artifact at ``s3://bench/xgb/model.tar.gz`` and model ``bench``."""
    s3, sm = server.client("s3"), server.client("sagemaker")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(model_file, "xgboost-model")
    s3.create_bucket(Bucket="bench")
    s3.put_object(Bucket="bench", Key="xgb/model.tar.gz", Body=archive.getvalue())
    sm.create_model(
        ModelName="bench",
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bench/xgb/model.tar.gz"},
        ExecutionRoleArn=ROLE,
    )
