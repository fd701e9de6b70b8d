"""Get raw files into data/raw/<source_id>/: from the offline mirror or the publisher's URL, checksum-verified."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.errors import ChecksumMismatch, FetchError
from pipelines.lib.registry import RawFile, Source


@dataclass(frozen=True)
class FetchedFile:
    source_id: str
    path: str  # relative to the source folder
    local_path: Path
    sha256: str
    bytes: int
    origin: str  # "mirror:<path>" or the URL


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def verify(source_id: str, raw: RawFile, path: Path) -> str:
    """Raise ChecksumMismatch naming the file and both checksums unless `path` is exactly the registered file."""
    actual = sha256_of(path)
    if actual != raw.sha256:
        raise ChecksumMismatch(
            f"sha256 mismatch: registry expects {raw.sha256}, file has {actual} "
            f"({path.stat().st_size} bytes, registry {raw.bytes}). A new upstream vintage or a corrupt file: "
            "update config/sources/ only after reviewing the new vintage.",
            source_id=source_id, file=raw.path, rule="sha256_manifest",
        )
    return actual


def fetch_from_mirror(source: Source, raw: RawFile, mirror: Path, raw_dir: Path) -> FetchedFile:
    src = mirror / source.source_id / raw.path
    if not src.is_file():
        raise FetchError(f"not in the offline mirror at {src}", source_id=source.source_id, file=raw.path,
                         rule="mirror_file_exists")
    verify(source.source_id, raw, src)
    dest = raw_dir / source.source_id / raw.path
    if not (dest.is_file() and dest.stat().st_size == raw.bytes and sha256_of(dest) == raw.sha256):
        _atomic_copy(src, dest)
        verify(source.source_id, raw, dest)
    return FetchedFile(source.source_id, raw.path, dest, raw.sha256, raw.bytes, f"mirror:{src}")


def fetch_source(source: Source, raw_dir: Path, mirror: Path | None) -> list[FetchedFile]:
    """Every registered file of one source, verified. Live download when no mirror is configured."""
    if mirror is None:
        raise FetchError(
            "live download is not available yet: set AI_READINESS_MIRROR to a folder laid out like ../shared/data",
            source_id=source.source_id, rule="live_download",
        )
    return [fetch_from_mirror(source, raw, mirror, raw_dir) for raw in source.files]
