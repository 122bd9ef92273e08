"""The SageMaker API: one provider, its operations grouped by resource in mixin modules."""

from sagebrush.services.sagemaker.provider import SageMakerProvider

PROVIDER = SageMakerProvider

__all__ = ["PROVIDER", "SageMakerProvider"]
