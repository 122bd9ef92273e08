"""Sagebrush: a self-hosted machine-learning platform that speaks SageMaker's APIs."""

from __future__ import annotations

__version__ = "0.1.0"
