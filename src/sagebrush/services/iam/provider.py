"""IAM: just enough roles for SageMaker clients.

SageMaker users pass role ARNs (``arn:aws:iam::111122223333:role/SageMakerRole``) that
they never create here, and the sagemaker SDK's ``get_execution_role()`` looks its role up
with ``GetRole``. So ``GetRole`` answers for *any* role name: a role created with
``CreateRole`` as stored, any other name as a synthesized role trusted by SageMaker (stable
id, path ``/``). ``SagebrushExecutionRole`` is the default role that STS reports callers
as having assumed; it is always listed and cannot be deleted. Roles grant nothing:
Sagebrush does not evaluate IAM policies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sagebrush.aws.errors import AwsError
from sagebrush.services.base import Provider, RequestContext
from sagebrush.state.iam_tables import RoleRecord, RoleRepository, new_role_id, role_id_for

DEFAULT_ROLE = "SagebrushExecutionRole"
SAGEMAKER_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
# Synthesized roles all claim this creation time, so they look the same on every call.
SYNTHESIZED_CREATED_AT = datetime(2020, 1, 1, tzinfo=UTC).timestamp()


class IamProvider(Provider):
    service = "iam"

    @property
    def _roles(self) -> RoleRepository:
        return RoleRepository(self.runtime.db)

    def get_role(self, ctx: RequestContext, role_name: str) -> dict[str, Any]:
        role = self._roles.get(ctx.account_id, role_name) or synthesized_role(
            ctx.account_id, role_name
        )
        return {"Role": _role_members(role)}

    def create_role(
        self,
        ctx: RequestContext,
        *,
        role_name: str,
        assume_role_policy_document: str,
        path: str | None = None,
        description: str | None = None,
        max_session_duration: int | None = None,
        permissions_boundary: str | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        _check_policy(assume_role_policy_document)
        role = RoleRecord(
            account_id=ctx.account_id,
            name=role_name,
            role_id=new_role_id(),
            path=path or "/",
            assume_role_policy=assume_role_policy_document,
            created_at=self.runtime.clock(),
            description=description,
            max_session_duration=max_session_duration or 3600,
            permissions_boundary=permissions_boundary,
            tags=tuple(tags or ()),
        )
        if not self._roles.create(role):
            raise AwsError(
                "EntityAlreadyExists", f"Role with name {role_name} already exists.", 409
            )
        return {"Role": _role_members(role)}

    def list_roles(
        self,
        ctx: RequestContext,
        path_prefix: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        prefix = path_prefix or "/"
        roles = self._roles.find(ctx.account_id, prefix)
        if prefix == "/" and not any(r.name.lower() == DEFAULT_ROLE.lower() for r in roles):
            roles.append(synthesized_role(ctx.account_id, DEFAULT_ROLE))
        roles.sort(key=lambda r: r.name.lower())
        if marker:
            roles = [r for r in roles if r.name.lower() > marker.lower()]
        limit = max_items or 100
        page = roles[:limit]
        out: dict[str, Any] = {
            "Roles": [_role_members(r) for r in page],
            "IsTruncated": len(roles) > limit,
        }
        if len(roles) > limit:
            out["Marker"] = page[-1].name
        return out

    def delete_role(self, ctx: RequestContext, role_name: str) -> dict[str, Any]:
        if self._roles.delete(ctx.account_id, role_name):
            return {}
        if role_name.lower() == DEFAULT_ROLE.lower():
            raise AwsError(
                "UnmodifiableEntity",
                f"Cannot perform the operation on the protected role '{role_name}'.",
            )
        raise AwsError("NoSuchEntity", f"The role with name {role_name} cannot be found.", 404)

    def simulate_principal_policy(
        self,
        ctx: RequestContext,
        policy_source_arn: str,
        action_names: list[str],
        resource_arns: list[str] | None = None,
    ) -> dict[str, Any]:
        """Every action is allowed: Sagebrush does not enforce IAM policies, and says so
        truthfully to clients (the sagemaker SDK v3) that check a role before using it."""
        if ":role/" not in policy_source_arn and ":user/" not in policy_source_arn:
            raise AwsError("InvalidInput", f"Invalid ARN: {policy_source_arn}")
        resources = resource_arns or ["*"]
        return {
            "EvaluationResults": [
                {
                    "EvalActionName": action,
                    "EvalResourceName": resource,
                    "EvalDecision": "allowed",
                    "MatchedStatements": [],
                    "MissingContextValues": [],
                }
                for action in action_names
                for resource in resources
            ],
            "IsTruncated": False,
        }


def synthesized_role(account_id: str, name: str) -> RoleRecord:
    return RoleRecord(
        account_id=account_id,
        name=name,
        role_id=role_id_for(account_id, name),
        path="/",
        assume_role_policy=SAGEMAKER_TRUST_POLICY,
        created_at=SYNTHESIZED_CREATED_AT,
        description=(
            "Sagebrush's default SageMaker execution role" if name == DEFAULT_ROLE else None
        ),
    )


def _role_members(role: RoleRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": datetime.fromtimestamp(role.created_at, UTC),
        # IAM answers policy documents URL-encoded; botocore decodes them for the caller.
        "AssumeRolePolicyDocument": quote(role.assume_role_policy, safe=""),
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.description is not None:
        out["Description"] = role.description
    if role.permissions_boundary:
        out["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": role.permissions_boundary,
        }
    if role.tags:
        out["Tags"] = [dict(t) for t in role.tags]
    return out


def _check_policy(document: str) -> None:
    try:
        parsed = json.loads(document)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or "Statement" not in parsed:
        raise AwsError("MalformedPolicyDocument", "Syntax errors in policy.")
