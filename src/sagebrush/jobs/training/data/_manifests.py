"""Reading ManifestFile and AugmentedManifestFile channel sources."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sagebrush.jobs.training.data._items import (
    AugmentedRecord,
    ChannelError,
    ChannelObject,
    ObjectRef,
    safe_relative_path,
)
from sagebrush.jobs.training.data._s3uri import InvalidS3Uri, directory_part, parse_s3_uri
from sagebrush.jobs.training.data._sync import read_object
from sagebrush.storage import ObjectStore
from sagebrush.storage.errors import NoSuchBucket, NoSuchKey


def manifest_objects(
    store: ObjectStore, bucket: str, key: str, uri: str, role: str
) -> list[ChannelObject]:
    """The objects a manifest lists: ``[{"prefix": "s3://b/p/"}, "rel1", "rel2", ...]``.

    Every entry is appended to the prefix, so all of them live in the prefix's bucket; they
    land under the channel directory like S3Prefix matches of that prefix would.
    """
    text = _download(store, bucket, key, uri, role)
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise _invalid(uri, f"not JSON ({exc})") from None
    head = entries[0] if isinstance(entries, list) and entries else None
    if not isinstance(head, dict) or not isinstance(head.get("prefix"), str):
        raise _invalid(uri, 'the first element must be {"prefix": "s3://bucket/prefix/"}')
    try:
        prefix_bucket, prefix_key = parse_s3_uri(head["prefix"])
    except InvalidS3Uri as exc:
        raise _invalid(uri, str(exc)) from None
    base = directory_part(prefix_key)
    objects = []
    for entry in entries[1:]:
        if not isinstance(entry, str) or not entry:
            raise _invalid(uri, "entries after the prefix must be non-empty strings")
        full_key = prefix_key + entry
        where = safe_relative_path(full_key[len(base) :], f'Manifest entry "{entry}"')
        objects.append(ChannelObject(prefix_bucket, full_key, where))
    if not objects:
        raise _invalid(uri, "it lists no objects")
    return objects


def augmented_records(
    store: ObjectStore,
    bucket: str,
    key: str,
    uri: str,
    *,
    attribute_names: Sequence[str],
    role: str,
) -> list[AugmentedRecord]:
    """The lines of a JSON Lines augmented manifest, reduced to ``attribute_names``.

    Without ``attribute_names`` every attribute of a line is used, in the line's order.
    """
    text = _download(store, bucket, key, uri, role)
    filename = safe_relative_path(key.rsplit("/", 1)[-1] or "manifest", "The manifest name")
    records = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            raise _invalid(uri, f"line {number} is not JSON", augmented=True) from None
        if not isinstance(line, dict):
            raise _invalid(uri, f"line {number} is not a JSON object", augmented=True)
        selected: dict[str, Any] = {}
        for name in attribute_names or list(line):
            if name not in line:
                raise ChannelError(
                    f'ClientError: Attribute "{name}" is missing from line {number} of '
                    f'augmented manifest file "{uri}".'
                )
            selected[name] = line[name]
        attributes = tuple((n, _attribute(n, v, number, uri)) for n, v in selected.items())
        as_json = json.dumps(selected, ensure_ascii=False, separators=(",", ":"))
        records.append(AugmentedRecord(filename, attributes, as_json.encode() + b"\n"))
    if not records:
        raise _invalid(uri, "it has no records", augmented=True)
    return records


def _attribute(name: str, value: Any, number: int, uri: str) -> bytes | ObjectRef:
    if name.endswith("-ref"):
        # A "-ref" attribute names the object whose bytes are the attribute's data.
        try:
            bucket, key = parse_s3_uri(value if isinstance(value, str) else "")
        except InvalidS3Uri:
            raise _invalid(
                uri, f'line {number}: "{name}" must be an s3:// object URI', augmented=True
            ) from None
        if not key or key.endswith("/"):
            raise _invalid(uri, f'line {number}: "{name}" must name an object', augmented=True)
        return ObjectRef(bucket, key)
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _download(store: ObjectStore, bucket: str, key: str, uri: str, role: str) -> str:
    try:
        return read_object(store, bucket, key).decode("utf-8")
    except (NoSuchKey, NoSuchBucket):
        raise ChannelError(
            f'ClientError: Could not download manifest file "{uri}" given in input data '
            f"source. Please ensure that the object exists and that {role} has "
            f'"s3:GetObject" permissions on it.'
        ) from None
    except UnicodeDecodeError:
        raise _invalid(uri, "it is not UTF-8 text") from None


def _invalid(uri: str, why: str, *, augmented: bool = False) -> ChannelError:
    kind = "Augmented manifest" if augmented else "Manifest"
    return ChannelError(f'ClientError: {kind} file "{uri}" is not valid: {why}.')
