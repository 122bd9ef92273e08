"""Hyperparameter schemas: defaults, conversion, ranges and SageMaker-style errors."""

from __future__ import annotations

import pytest

from sagebrush.algorithms.errors import ClientError
from sagebrush.algorithms.hyperparameters import (
    AUTO,
    Bool,
    Choice,
    Float,
    Integer,
    JsonList,
    Schema,
    Text,
)

SCHEMA = Schema(
    Integer("k", required=True, low=1),
    Float("tol", 1e-4, low=0.0, low_open=True),
    Float("learning_rate", AUTO, low=0.0, auto=True),
    Choice("init_method", ("random", "kmeans++"), "random"),
    Bool("subtract_mean", True),
    Text("note"),
    JsonList("eval_metrics", ["msd"], allowed=("msd", "ssd")),
    accepted=("_kvstore",),
)


def test_defaults_and_conversion() -> None:
    values = SCHEMA.parse({"k": "10"})
    assert values == {
        "k": 10,
        "tol": 1e-4,
        "learning_rate": AUTO,
        "init_method": "random",
        "subtract_mean": True,
        "note": None,
        "eval_metrics": ["msd"],
    }
    given = SCHEMA.parse(
        {
            "k": "3.0",
            "tol": "0.5",
            "learning_rate": "0.1",
            "init_method": '"kmeans++"',  # framework estimators JSON-encode
            "subtract_mean": "False",
            "eval_metrics": '["msd","ssd"]',
            "_kvstore": "dist_sync",
            "sagemaker_program": "x",
            "_tuning_objective_metric": "test:msd",
        }
    )
    assert given["k"] == 3 and given["learning_rate"] == 0.1
    assert given["init_method"] == "kmeans++" and given["subtract_mean"] is False
    assert given["eval_metrics"] == ["msd", "ssd"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "Missing required hyperparameter: k"),
        (
            {"k": "0"},
            r"Hyperparameter k: value '0' is invalid: it must be an integer in \[1, inf\)",
        ),
        ({"k": "2.5"}, "Hyperparameter k: value '2.5' is invalid"),
        ({"k": "1", "tol": "0"}, r"tol: value '0' is invalid: it must be a number in \(0.0, inf\)"),
        ({"k": "1", "tol": "nan"}, "tol: value 'nan' is invalid"),
        ({"k": "1", "learning_rate": "fast"}, "it must be a number in .* or 'auto'"),
        ({"k": "1", "init_method": "best"}, "it must be one of random, kmeans\\+\\+"),
        ({"k": "1", "subtract_mean": "yes"}, "it must be true or false"),
        ({"k": "1", "eval_metrics": '["mse"]'}, "it must be a list of msd, ssd"),
        ({"k": "1", "kk": "2"}, "Unknown hyperparameter\\(s\\): kk. Valid hyperparameters: "),
    ],
)
def test_bad_values_name_the_hyperparameter(raw: dict[str, str], message: str) -> None:
    with pytest.raises(ClientError, match=message):
        SCHEMA.parse(raw)
