"""Putting an object's bytes at a path without moving them through user space.

Blob files never change once written, so a destination may share their storage: a reflink
(copy-on-write clone) where the filesystem has them, a hard link when the caller promises
read-only use. Otherwise ``copy_file_range`` copies inside the kernel, and a plain
read/write loop covers filesystems (or kernels) that refuse even that.
"""

from __future__ import annotations

import errno
import fcntl
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

FICLONE = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h
_CHUNK = 1 << 20
# copy_file_range refuses these across filesystems, on old kernels or special files; the
# plain loop still works there.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


def temp_beside(dest: Path) -> Path:
    """A fresh name in ``dest``'s directory, so the final rename stays on one filesystem."""
    return dest.parent / f".sagebrush-{uuid.uuid4().hex}.tmp"


def materialize_blobs(segments: Sequence[tuple[Path, int]], dest: Path, *, link: bool) -> None:
    """Make ``dest`` hold the concatenation of ``segments`` (blob path, size), atomically."""
    tmp = temp_beside(dest)
    try:
        if not (link and len(segments) == 1 and _hard_link(segments[0][0], tmp)):
            _copy(segments, tmp)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _hard_link(blob: Path, tmp: Path) -> bool:
    try:
        os.link(blob, tmp)
    except OSError:  # another filesystem, too many links, protected_hardlinks...
        return False
    # The inode is the store's blob: take write permission away so a careless writer fails
    # loudly instead of corrupting the object (blobs are never written after creation).
    tmp.chmod(0o444)
    return True


def _copy(segments: Sequence[tuple[Path, int]], tmp: Path) -> None:
    dst = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if len(segments) == 1 and _clone(segments[0][0], dst):
            return
        for blob, size in segments:
            src = os.open(blob, os.O_RDONLY)
            try:
                copy_range(src, dst, size)
            finally:
                os.close(src)
    finally:
        os.close(dst)


def _clone(blob: Path, dst: int) -> bool:
    src = os.open(blob, os.O_RDONLY)
    try:
        fcntl.ioctl(dst, FICLONE, src)
    except OSError:  # ext4, tmpfs, another filesystem...: no reflinks here
        return False
    finally:
        os.close(src)
    return True


def copy_range(src: int, dst: int, size: int) -> None:
    """Append ``size`` bytes from the start of ``src`` at ``dst``'s current position."""
    position = 0
    kernel_copy = getattr(os, "copy_file_range", None)
    while kernel_copy is not None and position < size:
        try:
            copied = kernel_copy(src, dst, size - position, position)
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
            break
        if copied == 0:
            raise OSError(errno.EIO, "blob is shorter than recorded")
        position += copied
    while position < size:
        data = os.pread(src, min(_CHUNK, size - position), position)
        if not data:
            raise OSError(errno.EIO, "blob is shorter than recorded")
        view = memoryview(data)
        while view:
            view = view[os.write(dst, view) :]
        position += len(data)
