"""Batch data capture (``DataCaptureConfig`` of a transform job).

Under ``DestinationS3Uri`` the job writes two manifests, not copies of the data:
``input/yyyy/mm/dd/hh/<job>.jsonl`` naming the objects it read and
``output/yyyy/mm/dd/hh/<job>.jsonl`` naming the ``.out`` objects it wrote, each in
SageMaker's manifest format (``[{"prefix": "s3://…/"}, "relative/key", …]``), under the
hour the job started (UTC). With ``GenerateInferenceId`` every output record gets a random
inference id and the job's start time: two more CSV columns, or the fields
``SageMakerInferenceId`` and ``SageMakerInferenceTime`` of a JSON record.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sagebrush.jobs.transform.processing import media_type

CSV, JSON, JSONLINES = "text/csv", "application/json", "application/jsonlines"
INFERENCE_ID_FORMATS = (CSV, JSON, JSONLINES)


class CaptureError(Exception):
    """The configuration cannot be honoured: the message is a ValidationException's."""


@dataclass(frozen=True)
class BatchCapture:
    destination: str  # s3://bucket/prefix (no trailing slash)
    generate_inference_id: bool
    output_format: str  # the media type inference ids are added in ("" when not needed)

    @classmethod
    def from_request(
        cls, config: Mapping[str, Any], accept: str | None, content_type: str | None
    ) -> BatchCapture:
        destination = str(config["DestinationS3Uri"]).rstrip("/")
        if not destination.startswith("s3://") or len(destination) <= len("s3://"):
            raise CaptureError(f"DestinationS3Uri {destination} is not an S3 URI.")
        generate = bool(config.get("GenerateInferenceId", False))
        output_format = media_type(accept or content_type) if generate else ""
        if generate and output_format not in INFERENCE_ID_FORMATS:
            raise CaptureError(
                "GenerateInferenceId adds inference ids to CSV, JSON and JSON Lines outputs "
                f"only; the job's output is {output_format or 'of no declared type'}."
            )
        return cls(destination, generate, output_format)

    def manifest_key(self, kind: str, job: str, started: float) -> str:
        hour = datetime.fromtimestamp(started, UTC).strftime("%Y/%m/%d/%H")
        return f"{self.destination}/{kind}/{hour}/{job}.jsonl"

    def with_inference_ids(self, body: bytes, started: float) -> bytes:
        """Each line of an output object with its inference id and the job's start time."""
        when = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        out = []
        for line in lines:
            inference_id = str(uuid.uuid4())
            if self.output_format == CSV:
                out.append(line + f",{inference_id},{when}".encode())
                continue
            value = json.loads(line)
            if not isinstance(value, dict):
                value = {"SageMakerOutput": value}
            value["SageMakerInferenceId"] = inference_id
            value["SageMakerInferenceTime"] = when
            out.append(json.dumps(value, separators=(",", ":")).encode())
        return b"".join(line + b"\n" for line in out)


def manifest(prefix: str, relative_keys: Sequence[str]) -> bytes:
    """SageMaker's manifest: the common prefix, then each object's key relative to it."""
    return json.dumps([{"prefix": prefix.rstrip("/") + "/"}, *relative_keys]).encode() + b"\n"
