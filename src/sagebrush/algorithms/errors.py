"""Errors a built-in algorithm reports, in the words SageMaker's algorithms use."""

from __future__ import annotations

from collections.abc import Sequence


class ClientError(Exception):
    """A problem with the job's input (data, hyperparameters, channels).

    Reported as ``ClientError: <message>`` in the job's FailureReason, as SageMaker's
    algorithms report user errors; anything else is an ``AlgorithmError``.
    """


class InferenceError(Exception):
    """A request the model server answers with an HTTP error status and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def unsupported_content_type(content_type: str, supported: Sequence[str]) -> InferenceError:
    return InferenceError(
        415,
        f"Content type {content_type or '(none)'} is not supported by this algorithm: "
        f"use one of {', '.join(supported)}",
    )


def unsupported_accept(accept: str, supported: Sequence[str]) -> InferenceError:
    return InferenceError(
        406,
        f"Accept type {accept} is not supported by this algorithm: "
        f"use one of {', '.join(supported)}",
    )
