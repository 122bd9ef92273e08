"""Errors as values: an AWS error code, a message and an HTTP status.

Providers raise :class:`AwsError`; the protocol serializers render it on the wire in exactly
one place. Foreign exceptions are translated to it once, at the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AwsError(Exception):
    """An error the client should see, in AWS's own terms.

    ``fields`` carries extra members of the modeled error shape (S3's ``Key``,
    ``BucketName``...); ``headers`` extra response headers.
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        status: int = 400,
        *,
        sender_fault: bool = True,
        fields: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        self.fields: dict[str, Any] = dict(fields or {})
        self.headers: dict[str, str] = dict(headers or {})


def not_implemented(service: str, operation: str) -> AwsError:
    """The one uniform answer for an operation that exists in the model but is not served."""
    return AwsError(
        "NotImplemented",
        f"Sagebrush does not implement the operation {operation} of service {service} yet.",
        501,
        sender_fault=False,
    )


def not_served(service: str, operation: str | None = None) -> AwsError:
    """The answer to a request for an AWS service Sagebrush does not serve, in that
    service's own protocol (the router finds it), naming the operation when known."""
    detail = f" (operation {operation})" if operation else ""
    return AwsError(
        "NotImplemented",
        f"Sagebrush does not serve the AWS service {service}{detail}.",
        501,
        sender_fault=False,
    )


def not_served_over(service: str, protocol: str, operation: str, served: list[str]) -> AwsError:
    """A served service asked in a protocol Sagebrush does not speak for it (CBOR)."""
    return AwsError(
        "NotImplemented",
        f"Sagebrush serves {service} over {' and '.join(served)}, not {protocol} "
        f"(operation {operation}).",
        501,
        sender_fault=False,
    )


def internal_error(request_id: str) -> AwsError:
    return AwsError(
        "InternalFailure",
        f"The server hit an unexpected error; see the server log for request {request_id}.",
        500,
        sender_fault=False,
    )
