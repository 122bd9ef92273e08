"""The bytes one channel item contributes to a Pipe mode stream.

SageMaker's RecordIO wrapping makes each S3 object one record (it does not split objects
into lines), and each selected attribute of an augmented-manifest line its own record.
Without wrapping, bytes are concatenated as they are. ``CompressionType=Gzip`` means the
objects are gzip files, decompressed on the way (concatenated gzip members included); the
manifest files themselves are read as stored.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator, Iterable, Iterator

from sagebrush.container import recordio
from sagebrush.jobs.training.data._items import ChannelItem, ChannelObject, ObjectRef
from sagebrush.jobs.training.data._sync import CHUNK, iter_reader
from sagebrush.storage import ObjectReader, ObjectStore

_GZIP = 31  # zlib wbits: a gzip header and trailer, not raw deflate or zlib
_OPEN_ATTEMPTS = 8

Chunks = Generator[bytes | memoryview, None, None]


def item_chunks(store: ObjectStore, item: ChannelItem, *, gzip: bool, wrap: bool) -> Chunks:
    """The item's bytes for the pipe (close the generator to release what it holds)."""
    if isinstance(item, ChannelObject):
        yield from _object(store, ObjectRef(item.bucket, item.key), gzip, wrap)
        return
    for _name, value in item.attributes:
        if isinstance(value, ObjectRef):
            yield from _object(store, value, gzip, wrap)
        else:
            yield recordio.encode(value) if wrap else value


def gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress a stream of (possibly concatenated) gzip members, <= 1 MiB per chunk."""
    decompressor = zlib.decompressobj(_GZIP)
    pending = False  # a member has begun and not ended
    for chunk in chunks:
        data = chunk
        while data:
            out = decompressor.decompress(data, CHUNK)
            pending = True
            if out:
                yield out
            if decompressor.eof:
                data, pending = decompressor.unused_data, False
                decompressor = zlib.decompressobj(_GZIP)
            else:
                data = decompressor.unconsumed_tail
        # A call that filled its output limit can leave output pending with no input left.
        while pending and not decompressor.eof and (out := decompressor.decompress(b"", CHUNK)):
            yield out
    if pending and not decompressor.eof:
        raise zlib.error("the gzip stream is truncated")


def _object(store: ObjectStore, ref: ObjectRef, gzip: bool, wrap: bool) -> Chunks:
    if not wrap:
        yield from _decoded(store.open_object(ref.bucket, ref.key), gzip)
        return
    # A record header carries the length (and escape points) of what follows: learn them
    # on a first pass over the object, frame it on a second over the very same version.
    scan, send = _open_same_version(store, ref)
    try:
        scanner = recordio.LayoutScanner()
        for chunk in _decoded(scan, gzip):
            scanner.feed(chunk)
        yield from recordio.frame(_decoded(send, gzip), scanner.layout())
    finally:
        scan.close()
        send.close()


def _decoded(reader: ObjectReader, gzip: bool) -> Iterator[bytes]:
    chunks = iter_reader(reader)
    return gunzip(chunks) if gzip else chunks


def _open_same_version(store: ObjectStore, ref: ObjectRef) -> tuple[ObjectReader, ObjectReader]:
    for _ in range(_OPEN_ATTEMPTS):
        first = store.open_object(ref.bucket, ref.key)
        second = store.open_object(ref.bucket, ref.key)
        if (first.info.etag, first.info.size) == (second.info.etag, second.info.size):
            return first, second
        first.close()
        second.close()
    raise RuntimeError(f"s3://{ref.bucket}/{ref.key} kept changing while being opened")
