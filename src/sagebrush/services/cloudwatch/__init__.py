"""CloudWatch metrics over the durable metric store (``sagebrush.state.metrics``)."""

from __future__ import annotations

from sagebrush.services.cloudwatch.provider import CloudWatchProvider

PROVIDER = CloudWatchProvider

__all__ = ["PROVIDER", "CloudWatchProvider"]
