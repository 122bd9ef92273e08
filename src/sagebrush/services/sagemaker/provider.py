"""SageMaker's provider: the operations of every resource module, on one class."""

from __future__ import annotations

from sagebrush.services.sagemaker.endpoint_configs import EndpointConfigOperations
from sagebrush.services.sagemaker.endpoints import EndpointOperations
from sagebrush.services.sagemaker.models import ModelOperations
from sagebrush.services.sagemaker.search import SearchOperations
from sagebrush.services.sagemaker.tags import TagOperations
from sagebrush.services.sagemaker.training import TrainingOperations
from sagebrush.services.sagemaker.transform import TransformOperations
from sagebrush.services.sagemaker.tuning import TuningOperations
from sagebrush.services.sagemaker.unbuilt import UnbuiltOperations


class SageMakerProvider(
    TrainingOperations,
    ModelOperations,
    EndpointConfigOperations,
    EndpointOperations,
    TransformOperations,
    TuningOperations,
    TagOperations,
    SearchOperations,
    UnbuiltOperations,
):
    service = "sagemaker"
