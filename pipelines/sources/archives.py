"""Safe zip extraction for publisher downloads (e.g. World Bank API_<code>_DS2_en_csv_v2_*.zip).

A zip from the network is untrusted: member names may escape the target folder, members may be symlinks,
and headers may lie about sizes (zip bombs). Everything is checked up front from the central directory,
actual bytes are counted again while extracting, and the result appears atomically (temp dir + rename).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from pipelines.base.errors import FetchError

_CHUNK = 1 << 16
# Tiny members compress absurdly well in honest files (a header of zeros); only judge ratios above this size.
RATIO_FLOOR_BYTES = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


class _Refuse:
    """Builds FetchErrors that name the archive (and the caller's source/file when given)."""

    def __init__(self, zip_path: Path, source_id: str | None, file: str | None):
        self.zip_path, self.source_id, self.file = zip_path, source_id, file or zip_path.name

    def __call__(self, message: str, rule: str) -> FetchError:
        return FetchError(f"{self.zip_path.name}: {message}; nothing extracted",
                          source_id=self.source_id, file=self.file, rule=rule)


def _check_name(info: zipfile.ZipInfo, refuse: _Refuse) -> None:
    name = info.filename
    parts = re.split(r"[/\\]", name)
    if not name or name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise refuse(f"member {name!r} has an absolute path", "zip_path_traversal")
    if ".." in parts:
        raise refuse(f"member {name!r} has a '..' component", "zip_path_traversal")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise refuse(f"member {name!r} is a symlink", "zip_symlink")


def _check_ratio(name: str, size: int, compressed: int, max_ratio: float, refuse: _Refuse) -> None:
    if size > RATIO_FLOOR_BYTES and size / max(compressed, 1) > max_ratio:
        raise refuse(f"member {name!r} expands {size / max(compressed, 1):.0f}x (limit {max_ratio:.0f}x): "
                     "a zip bomb?", "zip_bomb")


def _check_central_directory(members: list[zipfile.ZipInfo], *, max_total_bytes: int, max_members: int,
                             max_ratio: float, refuse: _Refuse) -> None:
    if len(members) > max_members:
        raise refuse(f"{len(members)} members, limit {max_members}", "zip_max_members")
    names = [m.filename.rstrip("/") for m in members]
    if len(set(names)) != len(names):
        raise refuse("duplicate member names (a later one would overwrite an earlier one)", "zip_duplicate_member")
    for info in members:
        _check_name(info, refuse)
        _check_ratio(info.filename, info.file_size, info.compress_size, max_ratio, refuse)
    declared = sum(m.file_size for m in members)
    if declared > max_total_bytes:
        raise refuse(f"declares {declared} uncompressed bytes, limit {max_total_bytes}", "zip_max_total_bytes")


def _inside(root: Path, name: str, refuse: _Refuse) -> Path:
    dest = (root / name).resolve()
    if not dest.is_relative_to(root.resolve()):
        raise refuse(f"member {name!r} resolves outside the target folder", "zip_path_traversal")
    return dest


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, budget: int, max_ratio: float,
                    refuse: _Refuse) -> int:
    """Copy one member, counting real bytes: headers can lie, so the declared checks are not enough."""
    written = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as src, dest.open("wb") as out:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise refuse(f"member {info.filename!r} is larger than its header says", "zip_lying_header")
            if written > budget:
                raise refuse("uncompressed bytes exceed the total limit", "zip_max_total_bytes")
            _check_ratio(info.filename, written, info.compress_size, max_ratio, refuse)
            out.write(chunk)
    return written


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Replace `target` with `tmp` (a directory): readers see the old or the new folder, never a half one."""
    if not target.exists():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
    os.replace(target, old / "x")
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def safe_extract_zip(
    zip_path: Path,
    target_dir: Path,
    *,
    max_total_bytes: int = 512 << 20,
    max_members: int = 1000,
    max_ratio: float = 100.0,
    source_id: str | None = None,
    file: str | None = None,
) -> list[Path]:
    """Extract `zip_path` into `target_dir` (replaced atomically) and return the extracted files, sorted.

    Raises FetchError (naming archive, member and rule) for absolute or `..` paths, symlinks, duplicate
    names, too many members, too many bytes, a suspicious compression ratio, or a corrupt archive.
    """
    zip_path, target_dir = Path(zip_path), Path(target_dir)
    refuse = _Refuse(zip_path, source_id, file)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target_dir.parent, prefix=f".{target_dir.name}.", suffix=".extracting"))
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = zf.infolist()
            _check_central_directory(members, max_total_bytes=max_total_bytes, max_members=max_members,
                                     max_ratio=max_ratio, refuse=refuse)
            written = 0
            for info in members:
                dest = _inside(tmp, info.filename, refuse)
                if info.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                else:
                    written += _extract_member(zf, info, dest, max_total_bytes - written, max_ratio, refuse)
        _swap_into_place(tmp, target_dir)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:  # corrupt archive or CRC mismatch
        shutil.rmtree(tmp, ignore_errors=True)
        raise refuse(f"corrupt archive ({type(exc).__name__}: {exc})", "zip_corrupt") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(p for p in target_dir.rglob("*") if p.is_file())
