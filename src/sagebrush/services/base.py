"""What every provider gets: the request context and the application's shared runtime."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sagebrush.aws.http import HttpRequest
from sagebrush.aws.models import ServiceCatalog
from sagebrush.config import Settings

if TYPE_CHECKING:
    from sagebrush.jobs.endpoints.controller import EndpointController
    from sagebrush.jobs.training.controller import TrainingController
    from sagebrush.jobs.transform.controller import TransformController
    from sagebrush.jobs.tuning.controller import TuningController
    from sagebrush.state.db import Database
    from sagebrush.storage import ObjectStore


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    account_id: str
    region: str
    service: str
    operation: str
    access_key: str | None
    request: HttpRequest


@dataclass
class Runtime:
    """Application-wide services, built once by the app factory (never at import time)."""

    settings: Settings
    catalog: ServiceCatalog
    db: Database
    objects: ObjectStore
    clock: Callable[[], float] = time.time
    # Built by the app factory when jobs may run (None in protocol-only test apps).
    training: TrainingController | None = None
    endpoints: EndpointController | None = None
    transform: TransformController | None = None
    tuning: TuningController | None = None
    started_at: float = field(default_factory=time.time)

    def controllers(self) -> list[Controller]:
        """The job controllers there are, in the order they start (they close in reverse:
        tuning first, so it creates no child while training closes)."""
        found = (self.training, self.endpoints, self.transform, self.tuning)
        return [c for c in found if c is not None]


class Controller(Protocol):
    def start(self) -> None: ...

    def close(self) -> None: ...


class Provider:
    """One AWS service. A method per served operation, named after it in snake_case.

    Methods take ``ctx`` and the input members as snake_case keyword arguments (members a
    method does not declare are not passed) and return a dict keyed by output member names.
    """

    service: ClassVar[str]

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def derived(self, operation: str) -> Callable[..., Any] | None:
        """A handler derived from the model for an operation no method implements, called
        like a method (``ctx`` and every input member); None answers NotImplemented."""
        return None
