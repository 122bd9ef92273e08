"""IAM: roles, enough for SageMaker execution roles and the SDK's ``get_execution_role``."""

from __future__ import annotations

from sagebrush.services.iam.provider import DEFAULT_ROLE, IamProvider

PROVIDER = IamProvider

__all__ = ["DEFAULT_ROLE", "PROVIDER", "IamProvider"]
