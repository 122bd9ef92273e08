"""Which objects a training channel delivers to a host, and staging them for File mode.

``channel`` is the request's ``Channel`` structure as botocore shapes it (``ChannelName``,
``DataSource.S3DataSource{S3DataType, S3Uri, S3DataDistributionType, AttributeNames}``,
``ShuffleConfig{Seed}``, ...).

Order, shuffling and sharding:

- S3Prefix objects come in key order, manifest entries and augmented-manifest lines in
  file order. That is "the sorted list" ``ShardedByS3Key`` deals from.
- ``ShuffleConfig`` shuffles that list with ``random.Random(Seed + epoch)``. File and
  FastFile modes only ever see epoch 0; Pipe mode reshuffles every epoch.
- ``ShardedByS3Key`` then gives host ``i`` of ``N`` the items at positions ``i, i+N, ...``
  (objects are never split; a host may get none). Shuffled first, so with a ShuffleConfig
  objects move between hosts across epochs, as SageMaker documents.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sagebrush.jobs.training.data._items import (
    AugmentedRecord,
    ChannelError,
    ChannelItem,
    ChannelObject,
    safe_relative_path,
)
from sagebrush.jobs.training.data._manifests import augmented_records, manifest_objects
from sagebrush.jobs.training.data._s3uri import InvalidS3Uri, directory_part, parse_s3_uri
from sagebrush.storage import ObjectStore
from sagebrush.storage.errors import NoSuchBucket, NoSuchKey

_PAGE = 1000


def resolve_channel_objects(
    store: ObjectStore,
    channel: Mapping[str, Any],
    host_index: int,
    host_count: int,
    *,
    region: str = "us-east-1",
    role_arn: str | None = None,
) -> list[ChannelItem]:
    """What host ``host_index`` (0-based) of ``host_count`` gets in File/FastFile mode.

    ``region`` and ``role_arn`` only make error messages read like SageMaker's.
    """
    items = list_channel_items(store, channel, region=region, role_arn=role_arn)
    return select_for_host(items, channel, host_index, host_count)


def list_channel_items(
    store: ObjectStore,
    channel: Mapping[str, Any],
    *,
    region: str = "us-east-1",
    role_arn: str | None = None,
) -> list[ChannelItem]:
    """Everything the channel's data source names, in its natural order, for all hosts."""
    source = channel.get("DataSource", {}).get("S3DataSource")
    if source is None:
        raise ChannelError(
            f'ClientError: Channel "{channel.get("ChannelName")}" has no S3DataSource; '
            "only S3 data sources are supported."
        )
    uri = source["S3Uri"]
    try:
        bucket, key = parse_s3_uri(uri)
    except InvalidS3Uri as exc:
        raise ChannelError(f"ClientError: {exc}.") from None
    role = f'the role "{role_arn}"' if role_arn else "the role"
    data_type = source.get("S3DataType", "S3Prefix")
    if data_type == "S3Prefix":
        return _prefix_objects(store, bucket, key, uri, region=region, role=role)
    if data_type == "ManifestFile":
        return list(manifest_objects(store, bucket, key, uri, role))
    if data_type == "AugmentedManifestFile":
        names = source.get("AttributeNames") or ()
        return list(augmented_records(store, bucket, key, uri, attribute_names=names, role=role))
    raise ChannelError(f'ClientError: S3DataType "{data_type}" is not supported for training.')


def select_for_host(
    items: Sequence[ChannelItem],
    channel: Mapping[str, Any],
    host_index: int,
    host_count: int,
    epoch: int = 0,
) -> list[ChannelItem]:
    """Shuffle (with ``ShuffleConfig``) for ``epoch``, then shard (with ``ShardedByS3Key``)."""
    if not 0 <= host_index < host_count:
        raise ValueError(f"host {host_index} is not one of {host_count}")
    chosen = shuffled(items, channel, epoch)
    source = channel.get("DataSource", {}).get("S3DataSource", {})
    if source.get("S3DataDistributionType") == "ShardedByS3Key":
        chosen = chosen[host_index::host_count]
    return chosen


def shuffled(
    items: Sequence[ChannelItem], channel: Mapping[str, Any], epoch: int
) -> list[ChannelItem]:
    """``items`` in the order ``ShuffleConfig`` gives them for ``epoch`` (as is without one)."""
    chosen = list(items)
    shuffle = channel.get("ShuffleConfig")
    if shuffle is not None:
        random.Random(int(shuffle["Seed"]) + epoch).shuffle(chosen)
    return chosen


def download(store: ObjectStore, s3_uri: str, dest: Path) -> int:
    """Copy the one object at ``s3_uri`` to ``dest`` (a source tarball, say); returns its size."""
    try:
        bucket, key = parse_s3_uri(s3_uri)
        dest.parent.mkdir(parents=True, exist_ok=True)
        return store.materialize(bucket, key, dest)
    except InvalidS3Uri as exc:
        raise ChannelError(f"ClientError: {exc}.") from None
    except (NoSuchKey, NoSuchBucket):
        raise ChannelError(
            f'ClientError: Could not download "{s3_uri}": the object does not exist.'
        ) from None


def stage_file_channel(
    store: ObjectStore, items: Iterable[ChannelItem], channel_dir: Path, *, read_only: bool
) -> int:
    """Put a channel's items under ``channel_dir``; returns the bytes delivered.

    File mode (``read_only=False``) gets private copies. FastFile (``read_only=True``) gets
    links to the stored bytes where the store can make them: the caller must make the
    directory read-only to the job (a read-only bind mount). Objects are delivered exactly
    as stored: SageMaker applies ``CompressionType`` only in Pipe mode. Augmented-manifest
    records are written as the manifest's selected lines (one JSON object per line).
    """
    channel_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    lines: dict[str, list[bytes]] = {}
    for item in items:
        if isinstance(item, AugmentedRecord):
            if read_only:
                raise ChannelError(
                    "ClientError: FastFile mode does not support AugmentedManifestFile "
                    "channels; use Pipe or File mode."
                )
            lines.setdefault(item.relative_path, []).append(item.line)
            continue
        total += _stage_object(store, item, channel_dir, read_only)
    for relative_path, chunk in lines.items():
        dest = _destination(channel_dir, relative_path)
        data = b"".join(chunk)
        dest.write_bytes(data)
        total += len(data)
    return total


def _prefix_objects(
    store: ObjectStore, bucket: str, prefix: str, uri: str, *, region: str, role: str
) -> list[ChannelItem]:
    base = directory_part(prefix)
    objects: list[ChannelItem] = []
    after: str | None = None
    while True:
        try:
            page = store.list_objects(bucket, prefix=prefix, after=after, max_keys=_PAGE)
        except NoSuchBucket:
            break
        for summary in page.objects:
            if summary.key.endswith("/"):  # a console "folder": no data of its own
                continue
            where = safe_relative_path(
                _relative_key(summary.key, prefix, base), f'S3 key "{summary.key}"'
            )
            objects.append(ChannelObject(bucket, summary.key, where))
        if not page.is_truncated:
            break
        after = page.next_marker
    if not objects:
        raise ChannelError(
            f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data '
            f"source. Please ensure that the bucket exists in the selected region ({region}), "
            f"that objects exist under that S3 prefix, and that {role} has "
            f'"s3:ListBucket" permissions on bucket "{bucket}".'
        )
    return objects


def _stage_object(store: ObjectStore, item: ChannelObject, channel_dir: Path, link: bool) -> int:
    dest = _destination(channel_dir, item.relative_path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return store.materialize(item.bucket, item.key, dest, link=link)
    except (NoSuchKey, NoSuchBucket):
        raise ChannelError(
            f'ClientError: Could not download "s3://{item.bucket}/{item.key}" for channel '
            f'"{channel_dir.name}": the object does not exist.'
        ) from None
    except (FileExistsError, IsADirectoryError, NotADirectoryError) as exc:
        raise ChannelError(
            f'ClientError: Could not write "{item.relative_path}" for channel '
            f'"{channel_dir.name}": another object of the channel is in the way '
            f"({exc.strerror})."
        ) from None


def _relative_key(key: str, prefix: str, base: str) -> str:
    """Where an object lands in the channel, as SageMaker places it.

    A prefix naming a "folder" (``data/train`` for ``data/train/x.csv``) puts the folder's
    contents in the channel (``x.csv``); a prefix that only partly matches a name
    (``data/train`` for ``data/train-x.csv``) keeps that name whole (``train-x.csv``,
    aws/sagemaker-python-sdk#3612); a prefix that is the whole key gives its base name.
    """
    rest = key[len(prefix) :]
    if prefix.endswith("/") or rest.startswith("/"):
        return rest.lstrip("/")
    return key[len(base) :]


def _destination(channel_dir: Path, relative_path: str) -> Path:
    # Resolution guarantees this already; checked again because a bad path here would
    # write outside the instance directory.
    return channel_dir.joinpath(*safe_relative_path(relative_path, "A path").split("/"))
