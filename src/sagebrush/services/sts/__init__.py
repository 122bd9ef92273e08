"""STS: GetCallerIdentity (as a session of the default role) and AssumeRole."""

from __future__ import annotations

from sagebrush.services.sts.provider import StsProvider, session_secret

PROVIDER = StsProvider

__all__ = ["PROVIDER", "StsProvider", "session_secret"]
