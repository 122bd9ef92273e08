"""Content types as channels and requests name them: media type plus parameters."""

from __future__ import annotations

from dataclasses import dataclass, field

CSV = "text/csv"
LIBSVM = "text/libsvm"
PARQUET = "application/x-parquet"
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
JSON = "application/json"
JSONLINES = "application/jsonlines"

# Short names SageMaker's algorithms accept in a channel's ContentType.
_ALIASES = {
    "csv": CSV,
    "libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
    "parquet": PARQUET,
    "recordio-protobuf": RECORDIO_PROTOBUF,
    "application/x-recordio": RECORDIO_PROTOBUF,
    "json": JSON,
    "jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/jsonl": JSONLINES,
}


@dataclass(frozen=True)
class ContentType:
    media: str
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"{self.media}{extra}"

    def int_param(self, name: str, default: int) -> int:
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"content type parameter {name}={raw} is not an integer") from None


def parse_content_type(value: str | None, default: str) -> ContentType:
    """``text/csv; label_size=0`` -> ``ContentType("text/csv", {"label_size": "0"})``.

    A bare parameter (``application/json;verbose``) is kept with an empty value.
    """
    text = (value or "").strip() or default
    media, *rest = (part.strip() for part in text.split(";"))
    media = media.lower()
    params = {}
    for part in rest:
        key, _, val = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = val.strip().strip('"')
    return ContentType(_ALIASES.get(media, media), params)
