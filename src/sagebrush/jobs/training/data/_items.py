"""What a channel delivers: objects (S3Prefix, ManifestFile) or augmented-manifest records."""

from __future__ import annotations

from dataclasses import dataclass


class ChannelError(Exception):
    """A channel's data cannot be delivered. ``str(error)`` is the job's FailureReason."""


@dataclass(frozen=True)
class ChannelObject:
    """One object of a channel and where it lands under the channel directory."""

    bucket: str
    key: str
    relative_path: str


@dataclass(frozen=True)
class ObjectRef:
    """An object whose bytes stand for an augmented-manifest attribute (a "-ref" one)."""

    bucket: str
    key: str


@dataclass(frozen=True)
class AugmentedRecord:
    """One line of an augmented manifest, reduced to the selected attributes.

    ``attributes`` are in ``AttributeNames`` order: inline values as bytes (strings as
    UTF-8, anything else as compact JSON), "-ref" values as the object they point at.
    ``line`` is the JSON line File mode writes into ``relative_path`` (the manifest's name).
    """

    relative_path: str
    attributes: tuple[tuple[str, bytes | ObjectRef], ...]
    line: bytes


ChannelItem = ChannelObject | AugmentedRecord


def safe_relative_path(raw: str, what: str) -> str:
    """``raw`` as a '/'-joined path that cannot leave the channel directory.

    Empty segments are dropped (``a//b`` is ``a/b``, as a filesystem would read it); a
    ``.`` or ``..`` segment, or nothing left at all, is refused.
    """
    segments = [s for s in raw.split("/") if s]
    if not segments or any(s in {".", ".."} or "\0" in s for s in segments):
        raise ChannelError(
            f"ClientError: {what} cannot be written under the channel directory: "
            f'"{raw}" is not a relative path without "." or ".." segments.'
        )
    return "/".join(segments)
