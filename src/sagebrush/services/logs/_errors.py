"""Log store errors become CloudWatch Logs errors here, once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sagebrush.aws.errors import AwsError
from sagebrush.state.logs import GroupNotFound, StreamNotFound


@contextmanager
def store_errors() -> Iterator[None]:
    try:
        yield
    except GroupNotFound:
        raise not_found("log group") from None
    except StreamNotFound:
        raise not_found("log stream") from None


def not_found(what: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"The specified {what} does not exist.")


def already_exists(what: str) -> AwsError:
    return AwsError("ResourceAlreadyExistsException", f"The specified {what} already exists")


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)
