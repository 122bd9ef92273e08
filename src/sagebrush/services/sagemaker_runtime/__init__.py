"""SageMaker Runtime: InvokeEndpoint, served by the endpoint controller's router."""

from sagebrush.services.sagemaker_runtime.provider import SageMakerRuntimeProvider

PROVIDER = SageMakerRuntimeProvider

__all__ = ["PROVIDER", "SageMakerRuntimeProvider"]
