"""Factorization Machines' hyperparameters: SageMaker's names, defaults and ranges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sagebrush.algorithms.hyperparameters import Choice, Float, Integer, Param, Schema

BINARY, REGRESSOR = "binary_classifier", "regressor"
_INIT_METHODS = ("normal", "uniform", "constant")
# SageMaker's documented defaults per term: learning rate, weight decay, init sigma.
_DEFAULTS = {
    "bias": (0.1, 0.01, 0.01),
    "linear": (0.001, 0.001, 0.01),
    "factors": (0.0001, 0.00001, 0.001),
}


def _term_params(term: str) -> list[Param]:
    lr, wd, sigma = _DEFAULTS[term]
    return [
        Float(f"{term}_lr", lr, low=0.0),
        Float(f"{term}_wd", wd, low=0.0),
        Choice(f"{term}_init_method", _INIT_METHODS, "normal"),
        Float(f"{term}_init_scale", low=0.0),
        Float(f"{term}_init_sigma", sigma, low=0.0),
        Float(f"{term}_init_value"),
    ]


SCHEMA = Schema(
    Integer("feature_dim", required=True, low=1),
    Integer("num_factors", required=True, low=1),
    Choice("predictor_type", (BINARY, REGRESSOR), required=True),
    Integer("epochs", 1, low=1),
    Integer("mini_batch_size", 1000, low=1),
    Float("clip_gradient", low=0.0, low_open=True),
    Float("eps", low=0.0, low_open=True),
    Float("rescale_grad", low=0.0, low_open=True),
    *_term_params("bias"),
    *_term_params("linear"),
    *_term_params("factors"),
)


@dataclass(frozen=True)
class Init:
    """How one term's parameters start: N(0, sigma), U(-scale, scale) or a constant."""

    method: str
    scale: float
    sigma: float
    value: float

    def draw(self, random: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        if self.method == "constant":
            return np.full(shape, self.value)
        if self.method == "uniform":
            return random.uniform(-self.scale, self.scale, shape)
        return random.normal(0.0, self.sigma, shape)


@dataclass(frozen=True)
class Term:
    lr: float
    wd: float
    init: Init


@dataclass(frozen=True)
class Settings:
    feature_dim: int
    num_factors: int
    predictor_type: str
    epochs: int
    mini_batch_size: int
    clip_gradient: float | None
    eps: float
    rescale_grad: float | None  # None: 1 / the mini-batch's size, a mean gradient
    bias: Term
    linear: Term
    factors: Term


def settings(raw: Mapping[str, str]) -> Settings:
    values = SCHEMA.parse(raw)

    def term(name: str) -> Term:
        sigma = values[f"{name}_init_sigma"]
        scale = values[f"{name}_init_scale"]
        init = Init(
            method=values[f"{name}_init_method"],
            # No documented default scale: a uniform start as wide as the default sigma.
            scale=_DEFAULTS[name][2] if scale is None else scale,
            sigma=sigma,
            value=values[f"{name}_init_value"] or 0.0,
        )
        return Term(values[f"{name}_lr"], values[f"{name}_wd"], init)

    return Settings(
        feature_dim=values["feature_dim"],
        num_factors=values["num_factors"],
        predictor_type=values["predictor_type"],
        epochs=values["epochs"],
        mini_batch_size=values["mini_batch_size"],
        clip_gradient=values["clip_gradient"],
        eps=1e-8 if values["eps"] is None else values["eps"],
        rescale_grad=values["rescale_grad"],
        bias=term("bias"),
        linear=term("linear"),
        factors=term("factors"),
    )
