"""botocore's service models: loaded lazily, once per process, for the services we serve."""

from __future__ import annotations

import threading
from functools import cached_property

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel

# Every AWS service Sagebrush answers, by botocore service name. Requests for operations of
# these services that no provider implements get the uniform not-implemented error.
SERVED_SERVICES: tuple[str, ...] = (
    "s3",
    "sts",
    "iam",
    "sagemaker",
    "sagemaker-runtime",
    "sagemaker-metrics",
    "logs",
    "cloudwatch",
)


class ServiceCatalog:
    """Loads and caches :class:`ServiceModel` objects from botocore's bundled data."""

    def __init__(self, services: tuple[str, ...] = SERVED_SERVICES) -> None:
        self.services = services
        self._loader = Loader()
        self._models: dict[str, ServiceModel] = {}
        self._lock = threading.Lock()

    def model(self, service: str) -> ServiceModel:
        found = self._models.get(service)
        if found is None:
            with self._lock:
                found = self._models.get(service)
                if found is None:
                    data = self._loader.load_service_model(service, "service-2")
                    found = ServiceModel(data, service_name=service)
                    self._models[service] = found
        return found

    def operation(self, service: str, operation: str) -> OperationModel:
        return self.model(service).operation_model(operation)

    @cached_property
    def signing_names(self) -> dict[str, tuple[str, ...]]:
        """SigV4 scope service name -> the served services signed with it."""
        out: dict[str, list[str]] = {}
        for name in self.services:
            model = self.model(name)
            signing = model.metadata.get("signingName") or model.endpoint_prefix
            out.setdefault(signing, []).append(name)
        return {k: tuple(v) for k, v in out.items()}
