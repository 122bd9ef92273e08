"""One payload through the model: every container in turn (a pipeline), with retries.

A transform job's failures are per object, so what goes wrong here is an
:class:`InvokeFailed` whose message names the container and what it said; the object it
belongs to is then left without a ``.out``. No answer (a refused or reset connection, a
timeout) and a 5xx are retried up to ``ModelClientConfig.InvocationsMaxRetries`` times; a
4xx is the model saying the data is wrong, so it is not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sagebrush.jobs.endpoints.fleet import Process
from sagebrush.jobs.endpoints.upstream import Response, UpstreamError

_RETRY_DELAY = 0.2


class InvokeFailed(Exception):
    pass


async def invoke_chain(
    processes: Sequence[Process],
    body: bytes,
    content_type: str | None,
    accept: str | None,
    *,
    timeout: float,
    retries: int,
) -> bytes:
    for process in processes:
        response = await _call(
            process, body, content_type, accept, timeout=timeout, retries=retries
        )
        body = response.body
        content_type = response.headers.get("content-type", content_type)
    return body


async def _call(
    process: Process,
    body: bytes,
    content_type: str | None,
    accept: str | None,
    *,
    timeout: float,
    retries: int,
) -> Response:
    headers: list[tuple[str, str]] = []
    if content_type:
        headers.append(("Content-Type", content_type))
    if accept:
        headers.append(("Accept", accept))
    name = process.hostname
    for attempt in range(retries + 1):
        try:
            response = await process.upstream.request(
                "POST", "/invocations", body, headers, timeout=timeout
            )
        except UpstreamError as exc:
            problem = f"container {name} gave no answer: {exc}"
        else:
            if 200 <= response.status < 300:
                return response
            text = response.body.decode("utf-8", "replace")[:500]
            problem = f"container {name} answered {response.status}: {text}"
            if response.status < 500:
                break
        if attempt < retries:
            await asyncio.sleep(_RETRY_DELAY * (attempt + 1))
    raise InvokeFailed(problem)
