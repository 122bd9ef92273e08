"""STS and IAM providers, called directly and through the registry's dispatch."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.model import Shape, StructureShape

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Body, Headers, HttpRequest
from sagebrush.aws.models import ServiceCatalog
from sagebrush.config import Settings
from sagebrush.services.base import RequestContext, Runtime
from sagebrush.services.iam import DEFAULT_ROLE, IamProvider
from sagebrush.services.registry import ProviderRegistry
from sagebrush.services.sts import StsProvider, session_secret
from sagebrush.state.db import Database

ACCOUNT = "123456789012"
CATALOG = ServiceCatalog()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.migrate()
    settings = Settings(home=tmp_path, account_id=ACCOUNT)
    yield Runtime(settings=settings, catalog=CATALOG, db=db, objects=None, clock=lambda: 1.7e9)  # type: ignore[arg-type]
    db.dispose()


def ctx(service: str, operation: str, access_key: str | None = "AKIDEXAMPLE") -> RequestContext:
    request = HttpRequest("POST", "/", [], Headers(), Body(b""))
    return RequestContext("req-1", ACCOUNT, "us-east-1", service, operation, access_key, request)


def assert_matches_model(service: str, operation: str, output: dict[str, Any]) -> None:
    """Every member the provider returns is one the operation's output shape declares."""
    shape = CATALOG.operation(service, operation).output_shape
    assert shape is not None
    _check(shape, output)


def _check(shape: Shape, value: Any) -> None:
    if isinstance(shape, StructureShape):
        assert isinstance(value, dict)
        assert set(value) <= set(shape.members), set(value) - set(shape.members)
        for name, member in value.items():
            _check(shape.members[name], member)
    elif shape.type_name == "list":
        assert isinstance(value, list)
        for item in value:
            _check(shape.member, item)
    elif shape.type_name == "timestamp":
        assert isinstance(value, datetime)
    elif shape.type_name == "string":
        assert isinstance(value, str)
    elif shape.type_name in {"integer", "long"}:
        assert isinstance(value, int)
    elif shape.type_name == "boolean":
        assert isinstance(value, bool)


# -- STS -----------------------------------------------------------------------------------


def test_caller_identity_is_an_assumed_default_role(runtime: Runtime) -> None:
    out = StsProvider(runtime).get_caller_identity(ctx("sts", "GetCallerIdentity"))
    assert_matches_model("sts", "GetCallerIdentity", out)
    assert out["Account"] == ACCOUNT
    assert out["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{DEFAULT_ROLE}/AKIDEXAMPLE"
    assert out["UserId"].startswith("AROA") and out["UserId"].endswith(":AKIDEXAMPLE")
    anonymous = StsProvider(runtime).get_caller_identity(ctx("sts", "GetCallerIdentity", None))
    assert anonymous["Arn"].endswith(f"/{DEFAULT_ROLE}/sagebrush")


def test_sagemaker_sdk_role_lookup_round_trip(runtime: Runtime) -> None:
    # What sagemaker.Session.get_caller_identity_arn() does with the two answers.
    assumed = StsProvider(runtime).get_caller_identity(ctx("sts", "GetCallerIdentity"))["Arn"]
    role = re.sub(r"^(.+)sts::(\d+):assumed-role/(.+?)/.*$", r"\1iam::\2:role/\3", assumed)
    name = role[role.rfind("/") + 1 :]
    got = IamProvider(runtime).get_role(ctx("iam", "GetRole"), role_name=name)["Role"]["Arn"]
    assert got == role == f"arn:aws:iam::{ACCOUNT}:role/{DEFAULT_ROLE}"
    assert ":role/" in got  # what get_execution_role() insists on


def test_assume_role_credentials_are_derivable_by_the_server(runtime: Runtime) -> None:
    sts = StsProvider(runtime)
    arn = "arn:aws:iam::111122223333:role/service-role/SageMakerRole"
    out = sts.assume_role(ctx("sts", "AssumeRole"), role_arn=arn, role_session_name="s1")
    assert_matches_model("sts", "AssumeRole", out)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert session_secret(runtime.settings, creds["AccessKeyId"]) == creds["SecretAccessKey"]
    assert session_secret(runtime.settings, "AKIDEXAMPLE") is None
    assert out["AssumedRoleUser"]["Arn"] == (
        "arn:aws:sts::111122223333:assumed-role/SageMakerRole/s1"
    )
    again = sts.assume_role(ctx("sts", "AssumeRole"), role_arn=arn, role_session_name="s1")
    assert again["Credentials"] == creds
    with pytest.raises(AwsError) as caught:
        sts.assume_role(ctx("sts", "AssumeRole"), role_arn="not-an-arn", role_session_name="s")
    assert caught.value.code == "ValidationError"


# -- IAM -----------------------------------------------------------------------------------


TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "s.a.c"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_get_role_synthesizes_any_name(runtime: Runtime) -> None:
    iam = IamProvider(runtime)
    out = iam.get_role(ctx("iam", "GetRole"), role_name="SageMakerRole")
    assert_matches_model("iam", "GetRole", out)
    role = out["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
    assert (role["RoleName"], role["Path"]) == ("SageMakerRole", "/")
    assert role["RoleId"].startswith("AROA") and len(role["RoleId"]) == 21
    policy = json.loads(unquote(role["AssumeRolePolicyDocument"]))
    assert policy["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert "%7B" in role["AssumeRolePolicyDocument"]  # URL-encoded, as IAM answers
    assert iam.get_role(ctx("iam", "GetRole"), role_name="SageMakerRole") == out


def test_create_get_list_delete(runtime: Runtime) -> None:
    iam = IamProvider(runtime)
    created = iam.create_role(
        ctx("iam", "CreateRole"),
        role_name="MyRole",
        assume_role_policy_document=TRUST,
        path="/team/",
        description="mine",
        tags=[{"Key": "k", "Value": "v"}],
    )
    assert_matches_model("iam", "CreateRole", created)
    role = created["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/team/MyRole"
    assert json.loads(unquote(role["AssumeRolePolicyDocument"])) == json.loads(TRUST)
    # Durable: a new provider over the same database sees it, whatever the name's case.
    got = IamProvider(runtime).get_role(ctx("iam", "GetRole"), role_name="myrole")["Role"]
    assert got == role and got["Tags"] == [{"Key": "k", "Value": "v"}]

    with pytest.raises(AwsError) as caught:
        iam.create_role(
            ctx("iam", "CreateRole"), role_name="MYROLE", assume_role_policy_document=TRUST
        )
    assert (caught.value.code, caught.value.status) == ("EntityAlreadyExists", 409)

    listed = iam.list_roles(ctx("iam", "ListRoles"))
    assert_matches_model("iam", "ListRoles", listed)
    assert [r["RoleName"] for r in listed["Roles"]] == ["MyRole", DEFAULT_ROLE]
    assert listed["IsTruncated"] is False
    team = iam.list_roles(ctx("iam", "ListRoles"), path_prefix="/team/")
    assert [r["RoleName"] for r in team["Roles"]] == ["MyRole"]

    assert iam.delete_role(ctx("iam", "DeleteRole"), role_name="MyRole") == {}
    with pytest.raises(AwsError) as caught:
        iam.delete_role(ctx("iam", "DeleteRole"), role_name="MyRole")
    assert (caught.value.code, caught.value.status) == ("NoSuchEntity", 404)
    with pytest.raises(AwsError) as caught:
        iam.delete_role(ctx("iam", "DeleteRole"), role_name=DEFAULT_ROLE)
    assert caught.value.code == "UnmodifiableEntity"


def test_list_roles_pages(runtime: Runtime) -> None:
    iam = IamProvider(runtime)
    for i in range(5):
        iam.create_role(
            ctx("iam", "CreateRole"), role_name=f"r{i}", assume_role_policy_document=TRUST
        )
    names: list[str] = []
    marker = None
    while True:
        page = iam.list_roles(ctx("iam", "ListRoles"), marker=marker, max_items=2)
        names += [r["RoleName"] for r in page["Roles"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert names == ["r0", "r1", "r2", "r3", "r4", DEFAULT_ROLE]


def test_malformed_trust_policy(runtime: Runtime) -> None:
    with pytest.raises(AwsError) as caught:
        IamProvider(runtime).create_role(
            ctx("iam", "CreateRole"), role_name="x", assume_role_policy_document="{nope"
        )
    assert (caught.value.code, caught.value.status) == ("MalformedPolicyDocument", 400)


def test_dispatch_through_the_registry(runtime: Runtime) -> None:
    registry = ProviderRegistry(runtime)
    assert registry.implements("sts", "GetCallerIdentity")
    assert registry.implements("iam", "CreateRole")
    out = asyncio.run(
        registry.dispatch(
            ctx("iam", "CreateRole"),
            {
                "RoleName": "ViaRegistry",
                "AssumeRolePolicyDocument": TRUST,
                "MaxSessionDuration": 7200,
            },
        )
    )
    assert isinstance(out, dict) and out["Role"]["MaxSessionDuration"] == 7200
    who = asyncio.run(registry.dispatch(ctx("sts", "GetCallerIdentity"), {}))
    assert isinstance(who, dict) and who["Account"] == ACCOUNT
