"""Checks on labels that several algorithms make, with one wording."""

from __future__ import annotations

import numpy as np

from sagebrush.algorithms.errors import ClientError


def require_binary(labels: np.ndarray, channel: str) -> None:
    """A binary classifier's labels are 0 or 1."""
    wrong = labels[(labels != 0) & (labels != 1)]
    if len(wrong):
        raise ClientError(
            f"Channel '{channel}': labels of a binary_classifier must be 0 or 1; found {wrong[0]:g}"
        )
