"""Search over training jobs, tuning jobs, endpoints and models.

Each resource of the asked kind in the caller's account and region is described as its
Describe* operation would (plus ``Tags``), shaped as the SearchRecord member for that
kind, then filtered and sorted in Python by ``_search_expr``: fine for thousands of
records, and every property a client can see is one it can search on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sagebrush.jobs.endpoints.status import KIND as ENDPOINT_KIND
from sagebrush.jobs.training.status import KIND as TRAINING_KIND
from sagebrush.jobs.transform.status import KIND as TRANSFORM_KIND
from sagebrush.jobs.tuning.status import KIND as TUNING_KIND
from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker import _training_view, _tuning_view
from sagebrush.services.sagemaker._common import (
    SageMakerBase,
    decode_token,
    encode_token,
    validation,
)
from sagebrush.services.sagemaker._hosting_view import describe_model
from sagebrush.services.sagemaker._search_expr import (
    Kind,
    RecordSchema,
    document_of,
    parse,
    resolve,
    sort_order,
)
from sagebrush.services.sagemaker.endpoints import endpoint_view
from sagebrush.services.sagemaker.models import KIND as MODEL_KIND
from sagebrush.services.sagemaker.transform import transform_job_view
from sagebrush.state.resources import Resource, ResourceStore


@dataclass(frozen=True)
class _Source:
    """A searchable resource: its store kind and how its SearchRecord member is shaped."""

    kind: str
    shape: str
    default_sort: str
    keyed: Mapping[str, Kind] = field(default_factory=dict)
    inner: str | None = None


# SearchRequest.SortBy: "The default is LastModifiedTime." A model record has none; its
# creation time is the nearest thing.
_SOURCES = {
    "TrainingJob": _Source(
        TRAINING_KIND, "TrainingJob", "LastModifiedTime", keyed={"Metrics": Kind.NUMBER}
    ),
    "HyperParameterTuningJob": _Source(
        TUNING_KIND, "HyperParameterTuningJobSearchEntity", "LastModifiedTime"
    ),
    "Endpoint": _Source(ENDPOINT_KIND, "Endpoint", "LastModifiedTime"),
    "Model": _Source(MODEL_KIND, "ModelDashboardModel", "Model.CreationTime", inner="Model"),
}


@dataclass(frozen=True)
class _Found:
    resource: Resource
    record: dict[str, Any]
    document: Any


class SearchOperations(SageMakerBase):
    async def search(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        # Describing and filtering thousands of records takes a while: off the event loop,
        # which also serves invocations.
        return await asyncio.to_thread(self._search, ctx, self.request_of(ctx, members))

    def _search(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        resource = request["Resource"]
        source = _SOURCES.get(resource)
        if source is None:
            raise validation(
                f"Search over the {resource} resource is not supported by this version of "
                f"Sagebrush; it searches {', '.join(_SOURCES)}."
            )
        shape = self.runtime.catalog.model(ctx.service).shape_for(source.shape)
        schema = RecordSchema(shape, source.keyed, source.inner)
        spec = request.get("SearchExpression")
        expression = parse(spec, schema, resource) if spec else None
        sort = schema.require(request.get("SortBy") or source.default_sort, resource)
        descending = request.get("SortOrder", "Descending") == "Descending"
        visible = _visibility(request.get("VisibilityConditions") or [], schema)
        asked = [
            resource,
            spec,
            sort.name,
            descending,
            request.get("CrossAccountFilterOption"),
            request.get("VisibilityConditions"),
        ]
        # A digest, not the request itself: 50 filters of 1 KiB values would outgrow the
        # 8192 characters NextToken may have.
        digest = hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()
        query = {"search": digest}
        offset = decode_token(request.get("NextToken"), query)
        limit = request.get("MaxResults") or 10

        # Sagebrush shares nothing across accounts, so a cross-account search finds nothing.
        cross = request.get("CrossAccountFilterOption") == "CrossAccount"
        # SecondaryStatusTransitions costs a query per training job: read only if asked for.
        history = "secondarystatustransitions" in json.dumps([spec, sort.name]).lower()
        found = [] if cross else self._found(ctx, resource, shape, history)
        hits = [
            item
            for item in found
            if visible(item.document) and (expression is None or expression.holds(item.document))
        ]
        ordered = [hits[i] for i in sort_order([h.document for h in hits], sort, descending)]
        page = ordered[offset : offset + limit]
        if resource == "TrainingJob" and not history:
            for item in page:
                item.record["SecondaryStatusTransitions"] = _training_view.transitions(
                    self.resources.events(item.resource.id)
                )
        result: dict[str, Any] = {
            "Results": [{resource: item.record} for item in page],
            "TotalHits": {"Value": len(hits), "Relation": "EqualTo"},
        }
        if offset + limit < len(ordered):
            result["NextToken"] = encode_token(offset + limit, query)
        return result

    def _found(self, ctx: RequestContext, resource: str, shape: Any, history: bool) -> list[_Found]:
        """Every resource of the kind, described, with its document to search."""
        store = self.resources
        source = _SOURCES[resource]
        items = store.all(source.kind, ctx.account_id, ctx.region)
        tags = store.tags_of(item.arn for item in items)
        describe = {
            "TrainingJob": lambda job: _training_view.describe(
                job, store.events(job.id) if history else []
            ),
            "HyperParameterTuningJob": lambda job: _tuning_view.describe(store, job),
            "Endpoint": endpoint_view,
            "Model": _model_describer(store, ctx),
        }[resource]
        found = []
        for item in items:
            tag_list = [{"Key": k, "Value": v} for k, v in tags[item.arn]]
            record = describe(item)
            if resource == "Model":
                record["Model"]["Tags"] = tag_list
            else:
                record["Tags"] = tag_list
            document = document_of(shape, record)
            if resource == "TrainingJob":
                document["Metrics"] = {
                    m["MetricName"]: m["Value"] for m in record["FinalMetricDataList"]
                }
            found.append(_Found(item, record, document))
        return found


def _model_describer(
    store: ResourceStore, ctx: RequestContext
) -> Callable[[Resource], dict[str, Any]]:
    """A model's ModelDashboardModel: the model, the endpoints serving it, and the latest
    batch transform job that used it."""
    serving: dict[str, list[dict[str, Any]]] = {}
    for endpoint in store.all(ENDPOINT_KIND, ctx.account_id, ctx.region):
        snapshot = endpoint.facts.get("snapshot") or endpoint.spec.get("Snapshot") or {}
        for name in snapshot.get("Models") or {}:
            serving.setdefault(name, []).append(
                {
                    "EndpointName": endpoint.name,
                    "EndpointArn": endpoint.arn,
                    "CreationTime": endpoint.created,
                    "LastModifiedTime": endpoint.modified,
                    "EndpointStatus": endpoint.status,
                }
            )
    latest: dict[str, Resource] = {}
    # Oldest first, so the last one seen for a model is its latest.
    for job in store.all(TRANSFORM_KIND, ctx.account_id, ctx.region):
        latest[str(job.spec.get("ModelName"))] = job

    def describe(model: Resource) -> dict[str, Any]:
        record: dict[str, Any] = {
            "Model": describe_model(model),
            "Endpoints": serving.get(model.name, []),
        }
        if model.name in latest:
            record["LastBatchTransformJob"] = transform_job_view(latest[model.name])
        return record

    return describe


def _visibility(
    conditions: Sequence[Mapping[str, str]], schema: RecordSchema
) -> Callable[[Any], bool]:
    """VisibilityConditions: a record with one of the tag keys must have its value; records
    without the key stay visible."""
    checks = []
    for condition in conditions:
        key = condition.get("Key") or ""
        prop = schema.lookup(key) if key.startswith("Tags.") else None
        if prop is None or prop.kind is not Kind.TEXT:
            raise validation(f"VisibilityConditions key '{key}' must have the form Tags.<key>.")
        checks.append((prop.path, condition.get("Value")))

    def visible(document: Any) -> bool:
        for path, wanted in checks:
            values = resolve(document, path)
            if values and wanted not in values:
                return False
        return True

    return visible
