"""SageMaker's provider: the operations of every resource module, on one class."""

from __future__ import annotations

from sagebrush.services.sagemaker.tags import TagOperations
from sagebrush.services.sagemaker.training import TrainingOperations


class SageMakerProvider(TrainingOperations, TagOperations):
    service = "sagemaker"
