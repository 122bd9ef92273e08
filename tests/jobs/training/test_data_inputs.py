"""Channel resolution (prefix, manifests, sharding, shuffling) and File/FastFile staging."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from tests.jobs.training._data_support import channel, get, object_store, put

from sagebrush.jobs.training.data import (
    AugmentedRecord,
    ChannelError,
    ChannelObject,
    ObjectRef,
    download,
    list_channel_items,
    resolve_channel_objects,
    select_for_host,
    stage_file_channel,
)
from sagebrush.storage import FilesystemObjectStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FilesystemObjectStore]:
    with object_store(tmp_path, "bkt", "other") as objects:
        yield objects


def relative_paths(items: Sequence[object]) -> list[str]:
    return [i.relative_path for i in items if isinstance(i, ChannelObject)]


def test_prefix_matches_like_sagemaker(store: FilesystemObjectStore) -> None:
    for key in ["data/train.csv", "data/train/x.csv", "data/train/sub/y.csv", "data/trainer"]:
        put(store, key, key.encode())
    put(store, "data/validation.csv", b"v")
    put(store, "data/train/folder/", b"")  # a console folder marker: skipped
    items = resolve_channel_objects(store, channel("s3://bkt/data/train"), 0, 1)
    # A partial match keeps its whole name; a "folder" match brings the folder's contents
    # (what `session.upload_data(dir, key_prefix=...)` + `fit({"train": uri})` relies on).
    assert relative_paths(items) == ["train.csv", "sub/y.csv", "x.csv", "trainer"]
    assert next(i.key for i in items if isinstance(i, ChannelObject)) == "data/train.csv"


def test_folder_prefix_and_nested_keys(store: FilesystemObjectStore) -> None:
    for key in ["p/a.csv", "p/q/b.csv", "p/q/r/c.csv", "pp/no.csv"]:
        put(store, key, b"x")
    items = resolve_channel_objects(store, channel("s3://bkt/p/"), 0, 1)
    assert relative_paths(items) == ["a.csv", "q/b.csv", "q/r/c.csv"]
    nested = resolve_channel_objects(store, channel("s3://bkt/p/q/"), 0, 1)
    assert relative_paths(nested) == ["b.csv", "r/c.csv"]
    whole_bucket = resolve_channel_objects(store, channel("s3://bkt"), 0, 1)
    assert relative_paths(whole_bucket) == ["p/a.csv", "p/q/b.csv", "p/q/r/c.csv", "pp/no.csv"]


def test_many_objects_are_listed_across_pages(store: FilesystemObjectStore) -> None:
    for n in range(1005):
        put(store, f"big/{n:05d}", b"")
    items = resolve_channel_objects(store, channel("s3://bkt/big/"), 0, 1)
    assert relative_paths(items) == [f"{n:05d}" for n in range(1005)]


def test_empty_prefix_error_reads_like_sagemaker(store: FilesystemObjectStore) -> None:
    role = "arn:aws:iam::111111111111:role/SageMakerRole"
    with pytest.raises(ChannelError) as err:
        resolve_channel_objects(store, channel("s3://bkt/nothing/here"), 0, 1, role_arn=role)
    assert str(err.value) == (
        'ClientError: No S3 objects found under S3 URL "s3://bkt/nothing/here" given in input '
        "data source. Please ensure that the bucket exists in the selected region (us-east-1), "
        'that objects exist under that S3 prefix, and that the role "arn:aws:iam::111111111111:'
        'role/SageMakerRole" has "s3:ListBucket" permissions on bucket "bkt".'
    )
    with pytest.raises(ChannelError, match='bucket "missing"'):
        resolve_channel_objects(store, channel("s3://missing/x"), 0, 1)
    with pytest.raises(ChannelError, match="not a valid S3 URI"):
        resolve_channel_objects(store, channel("https://bkt/x"), 0, 1)


@pytest.mark.parametrize("key", ["p/../escape.csv", "p/a/../../x", "p/./x", "p/.."])
def test_keys_cannot_escape_the_channel_directory(store: FilesystemObjectStore, key: str) -> None:
    put(store, key, b"evil")
    with pytest.raises(ChannelError, match="cannot be written under the channel directory"):
        resolve_channel_objects(store, channel("s3://bkt/p/"), 0, 1)


def test_empty_path_segments_collapse(store: FilesystemObjectStore) -> None:
    put(store, "p//a//b.csv", b"x")
    assert relative_paths(resolve_channel_objects(store, channel("s3://bkt/p/"), 0, 1)) == [
        "a/b.csv"
    ]


def test_manifest_file(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "sets/PCA-1/matrix_0.pbr", b"zero", bucket="other")
    put(store, "sets/PCA-1/sub/matrix_1.pbr", b"one", bucket="other")
    manifest = [{"prefix": "s3://other/sets/PCA-1/"}, "matrix_0.pbr", "sub/matrix_1.pbr"]
    put(store, "m/.amazon.manifest", json.dumps(manifest).encode())
    spec = channel("s3://bkt/m/.amazon.manifest", data_type="ManifestFile")
    items = resolve_channel_objects(store, spec, 0, 1)
    assert items == [
        ChannelObject("other", "sets/PCA-1/matrix_0.pbr", "matrix_0.pbr"),
        ChannelObject("other", "sets/PCA-1/sub/matrix_1.pbr", "sub/matrix_1.pbr"),
    ]
    assert stage_file_channel(store, items, tmp_path / "ch", read_only=False) == 7
    assert (tmp_path / "ch" / "sub" / "matrix_1.pbr").read_bytes() == b"one"


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"not json", "not JSON"),
        (b'["s3://bkt/a"]', "first element"),
        (b'[{"prefix": "s3://bkt/p/"}]', "lists no objects"),
        (b'[{"prefix": "s3://bkt/p/"}, 3]', "non-empty strings"),
        (b'[{"prefix": "bkt/p/"}, "a"]', "not a valid S3 URI"),
        (b'[{"prefix": "s3://bkt/p/"}, "../../etc/passwd"]', "channel directory"),
    ],
)
def test_bad_manifests(store: FilesystemObjectStore, manifest: bytes, message: str) -> None:
    put(store, "m.manifest", manifest)
    with pytest.raises(ChannelError, match=message):
        resolve_channel_objects(
            store, channel("s3://bkt/m.manifest", data_type="ManifestFile"), 0, 1
        )


def test_missing_manifest(store: FilesystemObjectStore) -> None:
    with pytest.raises(ChannelError, match='Could not download manifest file "s3://bkt/no"'):
        resolve_channel_objects(store, channel("s3://bkt/no", data_type="ManifestFile"), 0, 1)


def test_augmented_manifest(store: FilesystemObjectStore, tmp_path: Path) -> None:
    lines = [
        {"source-ref": "s3://other/img/1.jpg", "is-a-cat": 1, "extra": "ignored"},
        {"extra": "x", "is-a-cat": "0", "source-ref": "s3://other/img/2.jpg"},
        {"source-ref": "s3://other/img/3.jpg", "is-a-cat": {"confidence": 0.5}},
    ]
    put(store, "am/train.manifest", "\n".join(json.dumps(x) for x in lines).encode() + b"\n\n")
    spec = channel(
        "s3://bkt/am/train.manifest",
        data_type="AugmentedManifestFile",
        AttributeNames=["source-ref", "is-a-cat"],
    )
    items = resolve_channel_objects(store, spec, 0, 1)
    assert [i.attributes for i in items if isinstance(i, AugmentedRecord)] == [
        (("source-ref", ObjectRef("other", "img/1.jpg")), ("is-a-cat", b"1")),
        (("source-ref", ObjectRef("other", "img/2.jpg")), ("is-a-cat", b"0")),
        (("source-ref", ObjectRef("other", "img/3.jpg")), ("is-a-cat", b'{"confidence":0.5}')),
    ]
    written = stage_file_channel(store, items, tmp_path / "ch", read_only=False)
    staged = (tmp_path / "ch" / "train.manifest").read_text().splitlines()
    assert written == len("\n".join(staged)) + 1
    assert [json.loads(x) for x in staged] == [
        {"source-ref": "s3://other/img/1.jpg", "is-a-cat": 1},
        {"source-ref": "s3://other/img/2.jpg", "is-a-cat": "0"},
        {"source-ref": "s3://other/img/3.jpg", "is-a-cat": {"confidence": 0.5}},
    ]
    with pytest.raises(ChannelError, match="FastFile"):
        stage_file_channel(store, items, tmp_path / "ff", read_only=True)


def test_augmented_manifest_errors(store: FilesystemObjectStore) -> None:
    spec = channel(
        "s3://bkt/a.manifest", data_type="AugmentedManifestFile", AttributeNames=["x-ref", "y"]
    )
    put(store, "a.manifest", b'{"x-ref": "s3://bkt/k", "y": 1}\n{"x-ref": "s3://bkt/k"}\n')
    with pytest.raises(ChannelError, match='Attribute "y" is missing from line 2'):
        resolve_channel_objects(store, spec, 0, 1)
    put(store, "a.manifest", b'{"x-ref": "file:///etc/passwd", "y": 1}\n')
    with pytest.raises(ChannelError, match="must be an s3:// object URI"):
        resolve_channel_objects(store, spec, 0, 1)
    put(store, "a.manifest", b"[1, 2]\n")
    with pytest.raises(ChannelError, match="line 1 is not a JSON object"):
        resolve_channel_objects(store, spec, 0, 1)


def test_sharding_over_three_hosts(store: FilesystemObjectStore) -> None:
    for n in range(10):
        put(store, f"s/{n}", b"x")
    spec = channel("s3://bkt/s/", distribution="ShardedByS3Key")
    shards = [relative_paths(resolve_channel_objects(store, spec, i, 3)) for i in range(3)]
    assert shards[0] == ["0", "3", "6", "9"]
    assert [len(s) for s in shards] == [4, 3, 3]
    assert sorted(p for shard in shards for p in shard) == [str(n) for n in range(10)]
    replicated = channel("s3://bkt/s/")
    assert all(len(resolve_channel_objects(store, replicated, i, 3)) == 10 for i in range(3))


def test_more_hosts_than_objects(store: FilesystemObjectStore) -> None:
    put(store, "one/a", b"x")
    spec = channel("s3://bkt/one/", distribution="ShardedByS3Key")
    assert [len(resolve_channel_objects(store, spec, i, 3)) for i in range(3)] == [1, 0, 0]


def test_shuffle_is_deterministic_and_reshuffles_per_epoch(store: FilesystemObjectStore) -> None:
    for n in range(30):
        put(store, f"sh/{n:02d}", b"x")
    spec = channel("s3://bkt/sh/", ShuffleConfig={"Seed": 7})
    first = relative_paths(resolve_channel_objects(store, spec, 0, 1))
    assert first == relative_paths(resolve_channel_objects(store, spec, 0, 1))
    assert first != sorted(first) and sorted(first) == [f"{n:02d}" for n in range(30)]
    other_seed = channel("s3://bkt/sh/", ShuffleConfig={"Seed": 8})
    assert relative_paths(resolve_channel_objects(store, other_seed, 0, 1)) != first
    items = list_channel_items(store, spec)
    assert relative_paths(select_for_host(items, spec, 0, 1, epoch=0)) == first
    assert relative_paths(select_for_host(items, spec, 0, 1, epoch=1)) != first
    sharded = channel("s3://bkt/sh/", distribution="ShardedByS3Key", ShuffleConfig={"Seed": 7})
    for epoch in range(3):  # shards stay disjoint and complete in every epoch
        shards = [relative_paths(select_for_host(items, sharded, i, 3, epoch)) for i in range(3)]
        assert sorted(p for shard in shards for p in shard) == sorted(first)


def test_file_mode_copies(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "f/a.csv", b"1,2,3\n")
    put(store, "f/deep/b.bin", bytes(range(256)) * 1000)
    items = resolve_channel_objects(store, channel("s3://bkt/f/"), 0, 1)
    target = tmp_path / "input" / "data" / "train"
    assert stage_file_channel(store, items, target, read_only=False) == 6 + 256_000
    assert (target / "a.csv").read_bytes() == b"1,2,3\n"
    assert (target / "deep" / "b.bin").read_bytes() == bytes(range(256)) * 1000
    (target / "a.csv").write_bytes(b"scribbled")  # the job may change its copy...
    assert get(store, "f/a.csv") == b"1,2,3\n"  # ...never the stored object


def test_fast_file_mode_links(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "ff/a.csv", b"linked bytes")
    items = resolve_channel_objects(store, channel("s3://bkt/ff/"), 0, 1)
    target = tmp_path / "train"
    assert stage_file_channel(store, items, target, read_only=True) == 12
    staged = target / "a.csv"
    assert staged.read_bytes() == b"linked bytes"
    assert staged.stat().st_nlink == 2
    assert staged.stat().st_mode & 0o222 == 0


def test_staging_errors(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "c/x", b"file")
    put(store, "c/x/y", b"under a file")
    items = resolve_channel_objects(store, channel("s3://bkt/c/"), 0, 1)
    with pytest.raises(ChannelError, match="in the way"):
        stage_file_channel(store, items, tmp_path / "ch", read_only=False)
    store.delete_object("bkt", "c/x")
    with pytest.raises(ChannelError, match=r'Could not download "s3://bkt/c/x"'):
        stage_file_channel(store, items, tmp_path / "ch2", read_only=False)


def test_download_one_object(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "code/sourcedir.tar.gz", b"tarball")
    assert download(store, "s3://bkt/code/sourcedir.tar.gz", tmp_path / "a" / "src.tgz") == 7
    assert (tmp_path / "a" / "src.tgz").read_bytes() == b"tarball"
    with pytest.raises(ChannelError, match='Could not download "s3://bkt/nope"'):
        download(store, "s3://bkt/nope", tmp_path / "x")
    with pytest.raises(ChannelError, match="not a valid S3 URI"):
        download(store, "bkt/nope", tmp_path / "x")
