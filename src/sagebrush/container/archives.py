"""Unpacking the tar archives users hand over (``sourcedir.tar.gz``, ``model.tar.gz``) safely.

``tar.extractall(dest, filter="data")`` is the way, but extraction filters arrived in
Python 3.11.4, and Debian 12's ``python3`` is 3.11.2. There, :func:`extract_all` applies the
same rules itself: leading slashes stripped, no paths that leave ``dest``, no links that
point out of it, no device files or FIFOs, no setuid/setgid/sticky bits or group/other
write bits, and the archive's owners ignored. A refused member fails the whole extraction
before anything is written, with :class:`UnsafeArchive` (a ``tarfile.TarError``).
"""

from __future__ import annotations

import copy
import os
import stat
import tarfile
from pathlib import Path


class UnsafeArchive(tarfile.TarError):
    pass


def extract_all(tar: tarfile.TarFile, dest: Path) -> None:
    """Extract every member of ``tar`` under ``dest`` as the ``data`` filter allows."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
        return
    root = Path(dest).resolve()
    members = [_checked(member, root) for member in tar.getmembers()]
    tar.extractall(dest, members=members, numeric_owner=True)


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def _checked(member: tarfile.TarInfo, root: Path) -> tarfile.TarInfo:
    name = member.name.lstrip("/")  # as the data filter does: /etc/x lands in dest/etc/x
    target = (root / name).resolve()
    if not _inside(root, target):
        raise UnsafeArchive(f"{name!r} would be extracted outside the destination")
    if member.ischr() or member.isblk() or member.isfifo():
        raise UnsafeArchive(f"{name!r} is a special file")
    if member.issym() or member.islnk():
        link = member.linkname
        if Path(link).is_absolute():
            raise UnsafeArchive(f"{name!r} links to the absolute path {link!r}")
        base = target.parent if member.issym() else root
        if not _inside(root, (base / link).resolve()):
            raise UnsafeArchive(f"{name!r} links outside the destination ({link!r})")
    mode = member.mode
    if mode is not None:
        mode &= 0o777 & ~(stat.S_IWGRP | stat.S_IWOTH)  # no setuid/setgid/sticky
        if member.isreg() or member.islnk():
            mode |= stat.S_IRUSR | stat.S_IWUSR
            if not mode & stat.S_IXUSR:
                mode &= ~(stat.S_IXGRP | stat.S_IXOTH)
    safe = copy.copy(member)  # TarInfo.replace() is 3.11.4's too
    safe.name, safe.mode = name, mode
    safe.uid, safe.gid, safe.uname, safe.gname = os.getuid(), os.getgid(), "", ""
    return safe
