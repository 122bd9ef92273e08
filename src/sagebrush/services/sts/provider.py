"""STS: who the caller is, and temporary credentials.

Every caller is reported as a session of the default role ``SagebrushExecutionRole``
(``arn:aws:sts::<account>:assumed-role/SagebrushExecutionRole/<access key>``): the
sagemaker SDK's ``get_execution_role()`` rewrites that to the role ARN
``arn:aws:iam::<account>:role/SagebrushExecutionRole``, which IAM ``GetRole`` answers.

``AssumeRole`` issues credentials derived from the server's configured secrets, so the
gateway can verify them without storing them (:func:`session_secret`). Their expiration is
advisory: it is not enforced.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sagebrush.aws.errors import AwsError
from sagebrush.config import Settings
from sagebrush.services.base import Provider, RequestContext
from sagebrush.services.iam.provider import DEFAULT_ROLE
from sagebrush.state.iam_tables import role_id_for

SESSION_KEY_PREFIX = "ASIA"
_ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})")
_UNSAFE_SESSION_CHARS = re.compile(r"[^\w+=,.@-]")


class StsProvider(Provider):
    service = "sts"

    def get_caller_identity(self, ctx: RequestContext) -> dict[str, Any]:
        session = session_name(ctx.access_key)
        return {
            "UserId": f"{role_id_for(ctx.account_id, DEFAULT_ROLE)}:{session}",
            "Account": ctx.account_id,
            "Arn": f"arn:aws:sts::{ctx.account_id}:assumed-role/{DEFAULT_ROLE}/{session}",
        }

    def assume_role(
        self,
        ctx: RequestContext,
        role_arn: str,
        role_session_name: str,
        duration_seconds: int | None = None,
    ) -> dict[str, Any]:
        match = _ROLE_ARN.fullmatch(role_arn)
        if match is None:
            raise AwsError("ValidationError", f"{role_arn} is invalid")
        account, role = match.groups()
        expiration = datetime.fromtimestamp(int(self.runtime.clock()), UTC) + timedelta(
            seconds=duration_seconds or 3600
        )
        settings = self.runtime.settings
        seed = f"{role_arn}\n{role_session_name}\n{int(expiration.timestamp())}"
        key_id = SESSION_KEY_PREFIX + _b32(_mac(settings, "key-id", seed))[:16]
        return {
            "Credentials": {
                "AccessKeyId": key_id,
                "SecretAccessKey": _session_secret(settings, key_id),
                "SessionToken": base64.b64encode(_mac(settings, "token", key_id)).decode(),
                "Expiration": expiration,
            },
            "AssumedRoleUser": {
                "AssumedRoleId": f"{role_id_for(account, role)}:{role_session_name}",
                "Arn": f"arn:aws:sts::{account}:assumed-role/{role}/{role_session_name}",
            },
            "PackedPolicySize": 0,
        }


def session_secret(settings: Settings, access_key: str) -> str | None:
    """The secret of a key issued by ``AssumeRole``, or None for any other key.

    A gateway's secret lookup: ``settings.credentials.get(key) or session_secret(...)``.
    """
    if not access_key.startswith(SESSION_KEY_PREFIX) or len(access_key) != 20:
        return None
    return _session_secret(settings, access_key)


def session_name(access_key: str | None) -> str:
    """The role session name a caller is reported under: its access key, made safe."""
    name = _UNSAFE_SESSION_CHARS.sub("-", access_key or "sagebrush")[:64]
    return name if len(name) >= 2 else f"{name}-session"


def _session_secret(settings: Settings, key_id: str) -> str:
    return base64.b64encode(_mac(settings, "secret", key_id)).decode()[:40]


def _mac(settings: Settings, purpose: str, message: str) -> bytes:
    # Keyed by every configured secret: only the server (and holders of all its long-term
    # secrets) can derive session credentials.
    server_key = hashlib.sha256(
        "\n".join(f"{k}:{v}" for k, v in sorted(settings.credentials.items())).encode()
    ).digest()
    return hmac.new(server_key, f"{purpose}\n{message}".encode(), hashlib.sha256).digest()


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode()
