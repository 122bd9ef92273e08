"""Which service and operation a request is for, read off botocore's service models.

Routing keys, in order: ``X-Amz-Target`` (json protocols), the form ``Action`` (query
protocols), then the REST ``requestUri`` templates of the services signed with the SigV4
scope's service name (S3 when unsigned). sagemaker-runtime and sagemaker-metrics sign as
``sagemaker``, so they are told apart from SageMaker's json API by path.

A request for a service Sagebrush does not serve routes the same way against that
service's own model (``Route.served`` is false), so it is refused in its own protocol and
the refusal can name the operation; :meth:`Router.error_wire` gives the protocol for
requests that route nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from urllib.parse import parse_qsl, unquote

from botocore.model import OperationModel, ServiceModel

from sagebrush.aws.errors import AwsError, not_served
from sagebrush.aws.http import HttpRequest
from sagebrush.aws.models import ServiceCatalog

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_LABEL = re.compile(r"\{([^}+]+)(\+?)\}")
_S3_HOST_SUFFIXES = (".localhost", ".s3.amazonaws.com", ".s3-website")
_S3_REGIONAL_HOST = re.compile(r"^(?P<bucket>.+)\.s3[.-][a-z0-9-]+\.amazonaws\.com$")
RPC_V2_CBOR = "smithy-rpc-v2-cbor"
# The errors of a request no served operation matches (it may be an unserved service's).
_NO_ROUTE = frozenset({"UnknownOperationException", "InvalidAction", "MethodNotAllowed"})
_RPC_V2_PATH = re.compile(r"^/service/(?P<prefix>[^/]+)/operation/(?P<operation>[^/]+)$")


@dataclass(frozen=True)
class Route:
    service: str
    operation: OperationModel
    protocol: str  # the wire protocol this request speaks: json, query, rest-json, rest-xml
    uri_params: dict[str, str]
    # False for an operation of a service (or a protocol) Sagebrush does not serve: the
    # route only says how to refuse it.
    served: bool = True


@dataclass(frozen=True)
class _RestTemplate:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    literals: tuple[tuple[str, str | None], ...]  # query keys the URI fixes (value or None)
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]

    def score(self, request: HttpRequest, query: dict[str, str]) -> int | None:
        """None when the template can't describe the request; else how specific it is."""
        for key, value in self.literals:
            if key not in query or (value is not None and query[key] != value):
                return None
        if any(q not in query for q in self.required_query):
            return None
        if any(h not in request.headers for h in self.required_headers):
            return None
        return len(self.literals) + len(self.required_query) + len(self.required_headers)


class Router:
    def __init__(self, catalog: ServiceCatalog) -> None:
        self.catalog = catalog

    async def resolve(self, request: HttpRequest, scope_service: str | None) -> Route:
        """The operation ``request`` is for; see the module docstring for unserved ones."""
        if request.headers.get("smithy-protocol") == "rpc-v2-cbor":
            return self._by_cbor_path(request)
        if scope_service and scope_service not in self.catalog.signing_names:
            found = await self._unserved(request, scope_service)
            if found is None:
                raise not_served(scope_service)
            return found
        try:
            return await self._served(request, scope_service)
        except AwsError as error:
            if error.code not in _NO_ROUTE:
                raise
            found = await self._unserved(request, scope_service)
            if found is None:
                raise
            return found

    async def _served(self, request: HttpRequest, scope_service: str | None) -> Route:
        target = request.headers.get("x-amz-target")
        if target:
            return self._by_target(target)
        if scope_service != "s3" and _is_form(request):
            form = (
                request.query_dict()
                if request.method == "GET"
                else _parse_form(await request.body.read())
            )
            return self._by_action(form.get("Action", ""), scope_service)
        if scope_service is None:
            # Unsigned: any REST service may be meant. S3 comes last so it loses ties: its
            # templates are the most generic ("/{Bucket}/{Key+}").
            services = (*(s for s in self.catalog.services if s != "s3"), "s3")
        else:
            services = self.catalog.signing_names.get(scope_service, ())
        rest = [s for s in services if self.catalog.model(s).protocol.startswith("rest")]
        if not rest:
            raise AwsError("UnknownOperationException", "Missing X-Amz-Target header.", 400)
        query = request.query_dict()
        best: tuple[int, Route] | None = None
        for service in rest:
            path = request.raw_path
            if service == "s3":
                path = _virtual_host_path(request, path)
            found = self._by_template(service, request, path, query)
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        if best is not None:
            return best[1]
        raise AwsError(
            "MethodNotAllowed",
            f"The specified method {request.method} is not allowed against this resource.",
            405,
        )

    # -- services (and protocols) Sagebrush does not serve ---------------------------------
    async def _unserved(self, request: HttpRequest, scope_service: str | None) -> Route | None:
        """The operation of an unserved service ``request`` is for, if it can be told."""
        target = request.headers.get("x-amz-target")
        if target:
            prefix, _, name = target.rpartition(".")
            for service in self.catalog.targeted(prefix):
                model = self.catalog.model(service)
                if not self.catalog.serves(service) and name in model.operation_names:
                    return Route(service, model.operation_model(name), "json", {}, served=False)
            return None
        if scope_service is None:
            return None
        others = [s for s in self.catalog.signed_as(scope_service) if not self.catalog.serves(s)]
        if _is_form(request):
            form = (
                request.query_dict()
                if request.method == "GET"
                else _parse_form(await request.body.read())
            )
            action = form.get("Action", "")
            for service in others:
                wire = next(
                    (p for p in ("query", "ec2") if p in self.catalog.info(service).protocols), None
                )
                model = self.catalog.model(service)
                if wire and action in model.operation_names:
                    return Route(service, model.operation_model(action), wire, {}, served=False)
            return None
        best: tuple[int, Route] | None = None
        for service in others:
            if not self.catalog.info(service).protocol.startswith("rest"):
                continue
            found = self._by_template(service, request, request.raw_path, request.query_dict())
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        return replace(best[1], served=False) if best is not None else None

    def _by_cbor_path(self, request: HttpRequest) -> Route:
        """Smithy RPC v2 CBOR: no served service speaks it, so the route only refuses."""
        match = _RPC_V2_PATH.match(request.raw_path)
        prefix, name = (match.group("prefix"), match.group("operation")) if match else ("", "")
        services = self.catalog.targeted(prefix) if prefix else ()
        if not services:
            raise AwsError("UnknownOperationException", f"Unknown service {prefix}.", 404)
        model = self.catalog.model(services[0])
        if name not in model.operation_names:
            raise not_served(services[0])
        return Route(services[0], model.operation_model(name), RPC_V2_CBOR, {}, served=False)

    def error_wire(self, request: HttpRequest, scope_service: str | None) -> tuple[str, str]:
        """The service and protocol to answer in when ``request`` routes nowhere: the
        protocol the request itself speaks, of a service signed with its scope."""
        try:
            return self._error_wire(request, scope_service)
        except Exception:  # a malformed request must still get an answer
            return "s3", "rest-xml"

    def _error_wire(self, request: HttpRequest, scope_service: str | None) -> tuple[str, str]:
        if request.headers.get("smithy-protocol") == "rpc-v2-cbor":
            match = _RPC_V2_PATH.match(request.raw_path)
            found = self.catalog.targeted(match.group("prefix")) if match else ()
            return (found[0] if found else "cloudwatch"), RPC_V2_CBOR
        target = request.headers.get("x-amz-target")
        if target:
            prefix = target.rpartition(".")[0]
            served = self._targets.get(prefix)
            found = (served,) if served else self.catalog.targeted(prefix)
            if not found and scope_service:
                found = tuple(self._signed(scope_service, lambda p: "json" in p))
            return (found[0] if found else "sagemaker"), "json"
        if _is_form(request):
            if scope_service:
                for service in self._signed(scope_service, lambda p: "query" in p or "ec2" in p):
                    protocols = self.catalog.info(service).protocols
                    return service, "query" if "query" in protocols else "ec2"
            return "sts", "query"
        if scope_service and scope_service != "s3":
            for service in self._signed(scope_service, lambda p: p[0].startswith("rest")):
                return service, self.catalog.info(service).protocol
        if request.raw_path.startswith("/endpoints/"):
            return "sagemaker-runtime", "rest-json"
        return "s3", "rest-xml"

    def _signed(self, scope_service: str, speaks: Callable[[tuple[str, ...]], bool]) -> list[str]:
        """Services signed with ``scope_service`` whose protocols pass ``speaks``: the served
        ones if any does, else any botocore service."""
        for pool in (self.catalog.signing_names.get(scope_service, ()), None):
            names = self.catalog.signed_as(scope_service) if pool is None else pool
            found = [s for s in names if speaks(self._protocols_of(s))]
            if found:
                return found
        return []

    def _protocols_of(self, service: str) -> tuple[str, ...]:
        info = self.catalog.info(service)
        return (info.protocol, *info.protocols)

    # -- json: X-Amz-Target ------------------------------------------------------------
    def _by_target(self, target: str) -> Route:
        prefix, _, name = target.rpartition(".")
        service = self._targets.get(prefix)
        if service is None:
            raise AwsError("UnknownOperationException", f"Unknown target prefix: {prefix}.", 400)
        model = self.catalog.model(service)
        if name not in model.operation_names:
            raise AwsError("UnknownOperationException", f"Unknown operation {target}.", 400)
        return Route(service, model.operation_model(name), "json", {})

    @cached_property
    def _targets(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in self.catalog.services:
            prefix = self.catalog.model(name).metadata.get("targetPrefix")
            if prefix:
                out[prefix] = name
        return out

    # -- query: Action= ----------------------------------------------------------------
    def _by_action(self, action: str, scope_service: str | None) -> Route:
        candidates = (
            self.catalog.signing_names.get(scope_service, ())
            if scope_service
            else self.catalog.services
        )
        for service in candidates:
            model = self.catalog.model(service)
            if "query" not in _protocols(model):
                continue
            if action in model.operation_names:
                return Route(service, model.operation_model(action), "query", {})
        raise AwsError(
            "InvalidAction",
            f"The action {action or '(none)'} is not valid for this web service.",
            400,
        )

    # -- REST: requestUri templates -----------------------------------------------------
    def _by_template(
        self, service: str, request: HttpRequest, path: str, query: dict[str, str]
    ) -> tuple[int, Route] | None:
        """The most specific operation of ``service`` matching the request, with its score."""
        model = self.catalog.model(service)
        x_id = query.get("x-id")
        best: tuple[int, _RestTemplate, dict[str, str]] | None = None
        for template in self._templates(service):
            if template.method != request.method:
                continue
            if x_id is not None and x_id != template.operation.name:
                continue
            match = template.pattern.match(path)
            if match is None:
                continue
            score = template.score(request, query)
            if score is not None and (best is None or score > best[0]):
                best = (score, template, {k: unquote(v) for k, v in match.groupdict().items()})
        if best is None:
            return None
        return best[0], Route(service, best[1].operation, model.protocol, best[2])

    def _templates(self, service: str) -> list[_RestTemplate]:
        cache = self.__dict__.setdefault("_template_cache", {})
        if service not in cache:
            model = self.catalog.model(service)
            built = [_compile(model.operation_model(n)) for n in model.operation_names]
            # Among equally specific templates the current operation beats a deprecated one,
            # then the name decides, so routing never depends on dict order.
            built.sort(key=lambda t: (bool(t.operation.deprecated), t.operation.name))
            cache[service] = built
        result: list[_RestTemplate] = cache[service]
        return result


def _compile(operation: OperationModel) -> _RestTemplate:
    uri = operation.http.get("requestUri", "/")
    path, _, query = uri.partition("?")
    regex = ""
    pos = 0
    for label in _LABEL.finditer(path):
        regex += re.escape(path[pos : label.start()])
        body = ".+" if label.group(2) else "[^/]+"
        regex += f"(?P<{_group(label.group(1))}>{body})"
        pos = label.end()
    regex += re.escape(path[pos:])
    # A bucket-level URI also answers with a trailing slash ("/bucket/").
    pattern = re.compile(f"^{regex}/?$" if not path.endswith("/") else f"^{regex}$")
    literals: list[tuple[str, str | None]] = []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        if key != "x-id":
            literals.append((key, value if eq else None))
    required_query: list[str] = []
    required_headers: list[str] = []
    shape = operation.input_shape
    if shape is not None:
        for name in shape.required_members:
            member = shape.members[name]
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "querystring":
                required_query.append(wire)
            elif location == "header":
                required_headers.append(wire)
    return _RestTemplate(
        operation,
        operation.http.get("method", "POST"),
        pattern,
        tuple(literals),
        tuple(required_query),
        tuple(required_headers),
    )


def _group(label: str) -> str:
    # Regex group names must be identifiers; model labels already are, but be safe.
    return re.sub(r"\W", "_", label)


def _protocols(model: ServiceModel) -> list[str]:
    return list(model.metadata.get("protocols") or [model.protocol])


def _is_form(request: HttpRequest) -> bool:
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith(FORM_CONTENT_TYPE):
        return True
    return request.method == "GET" and any(k == "Action" for k, _ in request.query)


def _parse_form(raw: bytes) -> dict[str, str]:
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _virtual_host_path(request: HttpRequest, path: str) -> str:
    """Rewrite ``bucket.localhost:4510/key`` into the path-style ``/bucket/key``."""
    host = request.host.rsplit(":", 1)[0] if not request.host.startswith("[") else ""
    bucket = None
    match = _S3_REGIONAL_HOST.match(host)
    if match:
        bucket = match.group("bucket")
    else:
        for suffix in _S3_HOST_SUFFIXES:
            if host.endswith(suffix) and len(host) > len(suffix):
                bucket = host[: -len(suffix)]
                break
    if bucket:
        bucket = bucket.removesuffix(".s3")
    if not bucket or bucket == "s3":
        return path
    return f"/{bucket}" if path == "/" else f"/{bucket}{path}"
