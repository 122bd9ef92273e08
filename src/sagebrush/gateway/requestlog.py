"""What every finished request leaves behind: metrics, and lines in the server log.

Each request is counted in :class:`~sagebrush.gateway.metrics.RequestMetrics`. One that
failed (an AWS error of status 400 or more) gets one line in the server log — INFO for a
4xx, WARNING for a 5xx (NotImplemented included) — naming the service, operation, status,
error code and message, the request id and the time taken. Successful requests are not
logged unless the access log is on (``--access-log`` / ``SAGEBRUSH_ACCESS_LOG``): then
every request gets a line on the ``sagebrush.access`` logger.
"""

from __future__ import annotations

import logging

from sagebrush.aws.errors import AwsError
from sagebrush.gateway.metrics import RequestMetrics

log = logging.getLogger("sagebrush.requests")
access = logging.getLogger("sagebrush.access")

UNKNOWN = "unknown"  # the service and operation of a request that could not be routed
_MESSAGE_LIMIT = 1000


class RequestRecorder:
    def __init__(self, metrics: RequestMetrics | None = None, *, access_log: bool = False) -> None:
        self.metrics = metrics or RequestMetrics()
        self.access_log = access_log

    def finished(
        self,
        *,
        method: str,
        path: str,
        service: str | None,
        operation: str | None,
        status: int,
        error: AwsError | None,
        request_id: str,
        seconds: float,
        sent: int,
        client: str = "",
    ) -> None:
        """``error`` is what the request was answered with, if anything went wrong; ``sent``
        the response body's bytes."""
        service = service or UNKNOWN
        operation = operation or UNKNOWN
        failed = error is not None and status >= 400
        self.metrics.observe(
            service, operation, status, seconds, error.code if failed and error else None
        )
        if failed and error is not None:
            what = f"{service} {operation}" if operation != UNKNOWN else f"{method} {path}"
            message = " ".join(error.message.split())  # one line, whatever the message holds
            if len(message) > _MESSAGE_LIMIT:
                message = message[:_MESSAGE_LIMIT] + "..."
            log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s failed: %d %s: %s (request %s, %.1f ms)",
                what,
                status,
                error.code,
                message,
                request_id,
                seconds * 1000,
            )
        if self.access_log:
            access.info(
                '%s "%s %s" %d %dB %.1fms %s %s %s',
                client or "-",
                method,
                path,
                status,
                sent,
                seconds * 1000,
                service,
                operation,
                request_id,
            )
