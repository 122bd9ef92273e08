"""CreateModel, DescribeModel, ListModels and DeleteModel."""

from __future__ import annotations

from typing import Any

from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import Listing, SageMakerBase, arn, validation
from sagebrush.services.sagemaker._hosting_check import check_model
from sagebrush.services.sagemaker._hosting_view import (
    describe_model,
    model_summary,
)

KIND = "model"
# Models have no lifecycle in SageMaker; the record needs a status all the same.
STATUS = "Created"


class ModelOperations(SageMakerBase):
    def create_model(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        request = self.request_of(ctx, members)
        check_model(request, self.runtime.settings)
        name = request["ModelName"]
        model_arn = arn(ctx, KIND, name)
        exists = validation(f'Cannot create already existing model "{model_arn}".')
        # ARNs lowercase the name, so "Churn" and "churn" would share one ARN (and its tags).
        if self.resources.find_arn(model_arn) is not None:
            raise exists
        self.record_new(
            ctx,
            kind=KIND,
            name=name,
            arn=model_arn,
            spec=request,
            status=STATUS,
            secondary_status=None,
            tags=request.get("Tags"),
            exists=lambda _: exists,
        )
        return {"ModelArn": model_arn}

    def describe_model(self, ctx: RequestContext, model_name: str) -> dict[str, Any]:
        model = self.resources.find(KIND, ctx.account_id, ctx.region, model_name)
        if model is None:
            raise _missing(ctx, model_name)
        return describe_model(model)

    def list_models(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        models, token = Listing.of(members).page(self.resources, ctx, KIND)
        result: dict[str, Any] = {"Models": [model_summary(m) for m in models]}
        if token is not None:
            result["NextToken"] = token
        return result

    def delete_model(self, ctx: RequestContext, model_name: str) -> dict[str, Any]:
        # Endpoints keep the containers they were created with, so a model in use may go.
        model = self.resources.find(KIND, ctx.account_id, ctx.region, model_name)
        if model is None or not self.resources.delete(model.id):
            raise _missing(ctx, model_name)
        return {}


def _missing(ctx: RequestContext, name: str) -> Exception:
    return validation(f'Could not find model "{arn(ctx, KIND, name)}".')
