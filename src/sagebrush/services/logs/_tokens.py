"""Paging tokens: opaque to clients, shaped like CloudWatch Logs' own.

GetLogEvents hands out ``f/<56 digits>/s`` and ``b/<56 digits>/s`` as AWS does. The digits
encode a :class:`Position` (``timestamp * 10**20 + seq``), so a token is a place in the
stream, not a page number: it stays valid while the stream grows, and a forward token at the
end reads zero events and comes back unchanged — the sagemaker SDK polls until such an empty
page. Event ids are the same 56 digits. Listing tokens (groups, streams) are the listing key,
base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from sagebrush.aws.errors import AwsError
from sagebrush.state.logs import Position

_SPLIT = 10**20
_EVENT_TOKEN = re.compile(r"([fb])/(\d{1,56})(?:/s)?")


def position_digits(position: Position) -> str:
    return f"{position.timestamp * _SPLIT + position.seq:056d}"


def event_token(direction: str, position: Position) -> str:
    return f"{direction}/{position_digits(position)}/s"


def parse_event_token(token: str) -> tuple[str, Position]:
    """``("f" | "b", position)``; InvalidParameterException for anything we did not issue."""
    found = _EVENT_TOKEN.fullmatch(token)
    if found is None:
        raise invalid_token()
    value = int(found.group(2))
    return found.group(1), Position(value // _SPLIT, value % _SPLIT)


def listing_token(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def parse_listing_token(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_token() from None


def invalid_token() -> AwsError:
    return AwsError("InvalidParameterException", "The specified nextToken is invalid.")
