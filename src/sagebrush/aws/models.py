"""botocore's service models: loaded lazily, once per process.

The services Sagebrush serves are :data:`SERVED_SERVICES`. Any other botocore service can
be looked up too — its signing name, protocol and ``X-Amz-Target`` prefix from the
``metadata`` block at the head of its model file, its full model on demand — so a request
for a service Sagebrush does not serve is refused in that service's own protocol.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel
from botocore.utils import PRIORITY_ORDERED_SUPPORTED_PROTOCOLS

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

# The metadata block opens every model file; this much of the file holds it.
_HEAD_BYTES = 4096


@dataclass(frozen=True)
class ServiceInfo:
    """What a service's metadata says about its wire, without loading its whole model."""

    name: str
    signing_name: str  # the SigV4 scope's service name
    protocol: str  # the one botocore (so boto3 and the CLI) speaks to it
    protocols: tuple[str, ...]  # every protocol the model lists
    target_prefix: str | None  # X-Amz-Target prefix (json and rpc-v2-cbor services)

    @classmethod
    def of(cls, name: str, metadata: Mapping[str, Any]) -> ServiceInfo:
        legacy = str(metadata.get("protocol", ""))
        listed = tuple(str(p) for p in metadata.get("protocols") or ()) or (legacy,)
        # botocore's choice among several (ServiceModel.resolved_protocol).
        preferred = [p for p in PRIORITY_ORDERED_SUPPORTED_PROTOCOLS if p in listed]
        signing = metadata.get("signingName") or metadata.get("endpointPrefix") or name
        target = metadata.get("targetPrefix")
        return cls(
            name=name,
            signing_name=str(signing),
            protocol=preferred[0] if preferred else listed[0],
            protocols=listed,
            target_prefix=str(target) if target else None,
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

    def serves(self, service: str) -> bool:
        return service in self.services

    def info(self, service: str) -> ServiceInfo:
        """Any botocore service's wire facts (its model is loaded only if already cached)."""
        loaded = self._models.get(service)
        if loaded is not None:
            return ServiceInfo.of(service, loaded.metadata)
        return self._index[0][service]

    def signed_as(self, signing_name: str) -> tuple[str, ...]:
        """Every botocore service signed with ``signing_name``, the served ones first."""
        served = self.signing_names.get(signing_name, ())
        others = self._index[1].get(signing_name, ())
        return (*served, *(s for s in others if s not in served))

    def targeted(self, prefix: str) -> tuple[str, ...]:
        """Every botocore service whose ``X-Amz-Target`` prefix is ``prefix``, served first."""
        found = self._index[2].get(prefix, ())
        return (
            *(s for s in found if s in self.services),
            *(s for s in found if s not in self.services),
        )

    @cached_property
    def _index(
        self,
    ) -> tuple[dict[str, ServiceInfo], dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        """Every botocore service's :class:`ServiceInfo`, by name, signing name and target
        prefix. Built on first use (~0.1 s: each model file's head only), never at start-up."""
        infos: dict[str, ServiceInfo] = {}
        for name in self._loader.list_available_services("service-2"):
            try:
                infos[name] = ServiceInfo.of(name, self._metadata(name))
            except Exception:  # a broken model file must not hide the others
                continue
        signing: dict[str, list[str]] = {}
        targets: dict[str, list[str]] = {}
        for info in infos.values():
            signing.setdefault(info.signing_name, []).append(info.name)
            if info.target_prefix:
                targets.setdefault(info.target_prefix, []).append(info.name)
        return (
            infos,
            {k: tuple(v) for k, v in signing.items()},
            {k: tuple(v) for k, v in targets.items()},
        )

    def _metadata(self, service: str) -> Mapping[str, Any]:
        """The model's ``metadata`` block, read off the head of its file (the whole model
        is loaded instead when the file is laid out otherwise)."""
        version = self._loader.determine_latest_version(service, "service-2")
        for root in self._roots:
            base = root / service / version
            for path, opener in (
                (base / "service-2.json", open),
                (base / "service-2.json.gz", gzip.open),
            ):
                if path.is_file():
                    with opener(path, "rb") as file:
                        found = _metadata_in(file.read(_HEAD_BYTES).decode("utf-8", "replace"))
                    if found is not None:
                        return found
                    break
        metadata: Mapping[str, Any] = self.model(service).metadata
        return metadata

    @cached_property
    def _roots(self) -> list[Path]:
        return [Path(root) for root in self._loader.search_paths]

    @cached_property
    def signing_names(self) -> dict[str, tuple[str, ...]]:
        """SigV4 scope service name -> the served services signed with it."""
        out: dict[str, list[str]] = {}
        for name in self.services:
            model = self.model(name)
            signing = model.metadata.get("signingName") or model.endpoint_prefix
            out.setdefault(signing, []).append(name)
        return {k: tuple(v) for k, v in out.items()}


def _metadata_in(head: str) -> dict[str, Any] | None:
    key = head.find('"metadata"')
    start = head.find("{", key) if key >= 0 else -1
    if start < 0:
        return None
    try:
        found, _ = json.JSONDecoder().raw_decode(head, start)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
