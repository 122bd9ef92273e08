"""CloudWatch Logs: log groups, streams and events over the durable log store."""

from __future__ import annotations

from sagebrush.services.logs.provider import LogsProvider

PROVIDER = LogsProvider

__all__ = ["PROVIDER", "LogsProvider"]
