"""What can go wrong on the invocation path, as values the runtime provider renders."""

from __future__ import annotations


class InvocationError(Exception):
    """A failed InvokeEndpoint: ``code`` and ``status`` are SageMaker Runtime's."""

    code = "InternalFailure"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInvocation(InvocationError):
    """Unknown endpoint, variant, container or model; an endpoint not in service."""

    code = "ValidationError"
    status = 400


class PayloadTooLarge(InvocationError):
    code = "ValidationError"
    status = 413


class ModelError(InvocationError):
    """The container answered 4xx/5xx, or nothing usable (``original_status`` None)."""

    code = "ModelError"
    status = 424

    def __init__(
        self,
        message: str,
        *,
        original_status: int | None,
        original_message: str,
        log_stream_arn: str,
    ) -> None:
        super().__init__(message)
        self.original_status = original_status
        self.original_message = original_message
        self.log_stream_arn = log_stream_arn
        # Time the container took to answer with an error (0 when it never answered).
        self.latency_us = 0.0


class ModelNotReady(InvocationError):
    code = "ModelNotReadyException"
    status = 429


class ServiceUnavailable(InvocationError):
    code = "ServiceUnavailable"
    status = 503
