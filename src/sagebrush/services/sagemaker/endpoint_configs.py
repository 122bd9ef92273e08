"""CreateEndpointConfig, DescribeEndpointConfig, ListEndpointConfigs and
DeleteEndpointConfig."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import Listing, SageMakerBase, arn, validation
from sagebrush.services.sagemaker._hosting_check import check_endpoint_config
from sagebrush.services.sagemaker._hosting_view import (
    describe_endpoint_config,
    endpoint_config_summary,
)
from sagebrush.services.sagemaker.models import KIND as MODEL_KIND

KIND = "endpoint-config"
# Endpoint configurations have no lifecycle in SageMaker; the record needs a status.
STATUS = "Created"


class EndpointConfigOperations(SageMakerBase):
    def create_endpoint_config(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        request = self.request_of(ctx, members)

        def find_model(name: str) -> Mapping[str, Any] | None:
            model = self.resources.find(MODEL_KIND, ctx.account_id, ctx.region, name)
            return model.spec if model is not None else None

        check_endpoint_config(ctx, request, find_model)
        name = request["EndpointConfigName"]
        config_arn = arn(ctx, KIND, name)
        exists = validation(
            f'Cannot create already existing endpoint configuration "{config_arn}".'
        )
        # ARNs lowercase the name: two configs differing in case would share one ARN.
        if self.resources.find_arn(config_arn) is not None:
            raise exists
        self.record_new(
            ctx,
            kind=KIND,
            name=name,
            arn=config_arn,
            spec=request,
            status=STATUS,
            secondary_status=None,
            tags=request.get("Tags"),
            exists=lambda _: exists,
        )
        return {"EndpointConfigArn": config_arn}

    def describe_endpoint_config(
        self, ctx: RequestContext, endpoint_config_name: str
    ) -> dict[str, Any]:
        config = self.resources.find(KIND, ctx.account_id, ctx.region, endpoint_config_name)
        if config is None:
            raise _missing(ctx, endpoint_config_name)
        return describe_endpoint_config(config)

    def list_endpoint_configs(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        configs, token = Listing.of(members).page(self.resources, ctx, KIND)
        result: dict[str, Any] = {"EndpointConfigs": [endpoint_config_summary(c) for c in configs]}
        if token is not None:
            result["NextToken"] = token
        return result

    def delete_endpoint_config(
        self, ctx: RequestContext, endpoint_config_name: str
    ) -> dict[str, Any]:
        # The SDK's delete_endpoint deletes the configuration before the endpoint, and
        # endpoints keep what they were created with: deleting one in use is allowed.
        config = self.resources.find(KIND, ctx.account_id, ctx.region, endpoint_config_name)
        if config is None or not self.resources.delete(config.id):
            raise _missing(ctx, endpoint_config_name)
        return {}


def _missing(ctx: RequestContext, name: str) -> Exception:
    return validation(f'Could not find endpoint configuration "{arn(ctx, KIND, name)}".')
