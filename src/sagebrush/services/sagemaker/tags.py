"""AddTags, ListTags and DeleteTags on any SageMaker resource Sagebrush stores."""

from __future__ import annotations

from typing import Any

from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import (
    SageMakerBase,
    decode_token,
    encode_token,
    tag_map,
    validation,
)

MAX_TAGS = 50


class TagOperations(SageMakerBase):
    def add_tags(
        self, ctx: RequestContext, resource_arn: str, tags: list[dict[str, str]]
    ) -> dict[str, Any]:
        self._require(ctx, resource_arn)
        new = tag_map(tags)
        existing: dict[str, str] = dict(self.resources.tags(resource_arn))
        if len(existing | new) > MAX_TAGS:
            raise validation(
                f"Number of tags on resource {resource_arn} would exceed the maximum of {MAX_TAGS}"
            )
        self.resources.add_tags(resource_arn, new)
        return {"Tags": tags}

    def list_tags(
        self,
        ctx: RequestContext,
        resource_arn: str,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> dict[str, Any]:
        self._require(ctx, resource_arn)
        limit = max_results or 50
        query = {"arn": resource_arn}
        offset = decode_token(next_token, query)
        tags = self.resources.tags(resource_arn)
        page = tags[offset : offset + limit]
        result: dict[str, Any] = {"Tags": [{"Key": k, "Value": v} for k, v in page]}
        if offset + limit < len(tags):
            result["NextToken"] = encode_token(offset + limit, query)
        return result

    def delete_tags(
        self, ctx: RequestContext, resource_arn: str, tag_keys: list[str]
    ) -> dict[str, Any]:
        self._require(ctx, resource_arn)
        self.resources.delete_tags(resource_arn, tag_keys)
        return {}

    def _require(self, ctx: RequestContext, resource_arn: str) -> None:
        found = self.resources.find_arn(resource_arn)
        if found is None or found.account_id != ctx.account_id:
            raise validation(f"Resource {resource_arn} does not exist.")
