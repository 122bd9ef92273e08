"""Archives are unpacked as the ``data`` filter allows, on Pythons with and without it."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import pytest

from sagebrush.container.archives import UnsafeArchive, extract_all


@pytest.fixture(params=["filter", "by hand"])
def python(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "by hand":  # as on Python < 3.11.4 (Debian 12's 3.11.2)
        monkeypatch.delattr(tarfile, "data_filter")
    return str(request.param)


def _archive(tmp_path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    path = tmp_path / "a.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _member(
    name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, link: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, link
    return info


def _extract(path: Path, dest: Path) -> None:
    dest.mkdir()
    with tarfile.open(path) as tar:
        extract_all(tar, dest)


def test_files_directories_and_inner_links_unpack(tmp_path: Path, python: str) -> None:
    path = _archive(
        tmp_path,
        (_member("code", tarfile.DIRTYPE, 0o755), b""),
        (_member("code/train.py", mode=0o4755), b"print('hi')\n"),
        (_member("code/data.csv", mode=0o666), b"1,2\n"),
        (_member("code/link.py", tarfile.SYMTYPE, link="train.py"), b""),
    )
    _extract(path, tmp_path / "out")
    out = tmp_path / "out" / "code"
    assert (out / "train.py").read_text() == "print('hi')\n"
    assert (out / "link.py").read_text() == "print('hi')\n"
    assert stat.S_IMODE((out / "train.py").stat().st_mode) == 0o755  # setuid dropped
    assert stat.S_IMODE((out / "data.csv").stat().st_mode) == 0o644  # no group/other write


@pytest.mark.parametrize(
    "member",
    [
        _member("../escape.py"),
        _member("up", tarfile.SYMTYPE, link="../../outside"),
        _member("abs", tarfile.SYMTYPE, link="/etc/passwd"),
        _member("pipe", tarfile.FIFOTYPE),
    ],
    ids=["dot-dot", "link-out", "absolute-link", "fifo"],
)
def test_unsafe_members_refuse_the_archive(
    tmp_path: Path, python: str, member: tarfile.TarInfo
) -> None:
    path = _archive(tmp_path, (_member("ok.txt"), b"fine"), (member, b""))
    with pytest.raises(tarfile.TarError):
        _extract(path, tmp_path / "out")
    if python == "by hand":  # checked before anything is written
        assert not (tmp_path / "out" / "ok.txt").exists()
    assert not (tmp_path / "escape.py").exists()


def test_absolute_names_land_inside(tmp_path: Path, python: str) -> None:
    _extract(_archive(tmp_path, (_member("/etc/evil"), b"x")), tmp_path / "out")
    assert (tmp_path / "out" / "etc" / "evil").read_bytes() == b"x"


def test_the_error_is_a_tar_error() -> None:
    assert issubclass(UnsafeArchive, tarfile.TarError)
