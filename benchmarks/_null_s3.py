"""A null S3 server for benchmark baselines: it answers just enough of the multipart upload
and ranged download conversation for boto3's transfer manager, discards what it receives and
sends bytes from memory. What boto3 reaches against it is the client's own ceiling on this
machine. Run as ``uvicorn _null_s3:app`` in its own process (never in the client's: the GIL
would be shared)."""

from __future__ import annotations

import os
import re
from typing import Any

SIZE = int(os.environ.get("NULL_S3_SIZE", str(1 << 30)))
_DATA = bytes(8 << 20)
_RANGE = re.compile(r"bytes=(\d+)-(\d+)?")
_INITIATE = (
    b'<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult>'
    b"<Bucket>b</Bucket><Key>k</Key><UploadId>null</UploadId></InitiateMultipartUploadResult>"
)
_COMPLETE = (
    b'<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult>'
    b'<ETag>"null-1"</ETag></CompleteMultipartUploadResult>'
)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    query = scope["query_string"].decode()
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    status, extra, body = 200, [(b"etag", b'"null"')], b""
    if "uploads" in query:
        body = _INITIATE
    elif "uploadId" in query and scope["method"] == "POST":
        body = _COMPLETE
    elif scope["method"] in ("GET", "HEAD"):
        start, stop = 0, SIZE - 1
        match = _RANGE.match(headers.get("range", ""))
        if match:
            start = int(match.group(1))
            stop = min(int(match.group(2) or SIZE - 1), SIZE - 1)
            status = 206
            extra.append((b"content-range", f"bytes {start}-{stop}/{SIZE}".encode()))
        length = stop - start + 1
        extra.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": status, "headers": extra})
        if scope["method"] == "GET":
            while length > 0:
                n = min(length, len(_DATA))
                await send({"type": "http.response.body", "body": _DATA[:n], "more_body": True})
                length -= n
        await send({"type": "http.response.body", "body": b""})
        return
    extra.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": extra})
    await send({"type": "http.response.body", "body": body})
