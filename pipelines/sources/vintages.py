"""Vintages as snapshots (OWID ETL's model): a fetched file whose sha256 differs from the last accepted one is a new
dated snapshot, parsed, validated and published like any other build, without a registry edit.

Layout under data/raw/<source_id>/:

- `<path>`: the working copy the staging step parses (registered path, as always);
- `<vintage>/<path>` + `<vintage>/snapshot.json`: a snapshot (vintage = UTC retrieval time, `2026-12-02T160312Z`)
  with, per file, the URL or mirror path it came from, retrieval time, ETag / Last-Modified, sha256 and size, and
  its status: `candidate` (fetched, not yet through a build), `published` (release id), `held` (a blocking check
  or a parse failed: the reasons) or `refused` (`--pinned` build: only registered sha256s are accepted);
- `vintages.json`: what the working copy is (per path: sha256, bytes, vintage, validators), so the staging step
  knows which bytes it may parse.

The registered sha256 in config/sources/ stays the reproducible baseline: `ai-readiness build --pinned`
(AI_READINESS_PINNED=1) accepts nothing else. Every write here is atomic (temp file + rename); a build killed
between the snapshot and the working copy leaves the source stale, and the next build fetches it again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.sources.registry import RawFile, Source

PINNED_ENV = "AI_READINESS_PINNED"
STATE_FILE = "vintages.json"
SNAPSHOT_FILE = "snapshot.json"
STATUSES = ("candidate", "published", "held", "refused")


def pinned() -> bool:
    """Only the registered sha256s are accepted (`ai-readiness build --pinned`)."""
    return os.environ.get(PINNED_ENV, "").strip() == "1"


def _write_json(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def source_dir(raw_dir: Path, source_id: str) -> Path:
    return Path(raw_dir) / source_id


def working_state(raw_dir: Path, source_id: str) -> dict:
    """{path: {sha256, bytes, vintage, etag, last_modified}} of the working copies a snapshot installed."""
    return _read_json(source_dir(raw_dir, source_id) / STATE_FILE, {}).get("files", {})


def accepted_sha256(source_id: str, raw: RawFile, raw_dir: Path) -> set[str]:
    """The sha256s the working copy of `raw` may have: the registered one, and (not pinned) the snapshot that
    fetch installed last."""
    accepted = {raw.sha256}
    if not pinned():
        entry = working_state(raw_dir, source_id).get(raw.path)
        if entry:
            accepted.add(entry["sha256"])
    return accepted


def validators(source_id: str, raw: RawFile, raw_dir: Path) -> dict:
    """ETag / Last-Modified recorded for the working copy, for a conditional request."""
    entry = working_state(raw_dir, source_id).get(raw.path) or {}
    return {k: entry[k] for k in ("etag", "last_modified") if entry.get(k)}


@dataclass(frozen=True)
class Snapshot:
    source_id: str
    vintage: str
    folder: Path
    doc: dict

    @property
    def status(self) -> str:
        return self.doc.get("status", "candidate")

    @property
    def files(self) -> list[dict]:
        return self.doc.get("files", [])


def snapshots(raw_dir: Path, source_id: str) -> list[Snapshot]:
    """Every snapshot of a source, oldest first."""
    root = source_dir(raw_dir, source_id)
    found = []
    for meta in sorted(root.glob(f"*/{SNAPSHOT_FILE}")):
        found.append(Snapshot(source_id, meta.parent.name, meta.parent, _read_json(meta, {})))
    return found


def _find(raw_dir: Path, source_id: str, path: str, sha: str) -> Snapshot | None:
    for snap in reversed(snapshots(raw_dir, source_id)):
        if any(f["path"] == path and f["sha256"] == sha for f in snap.files):
            return snap
    return None


def _new_vintage_id(raw_dir: Path, source_id: str, now: dt.datetime) -> str:
    base = now.strftime("%Y-%m-%dT%H%M%SZ")
    vintage, n = base, 1
    while (source_dir(raw_dir, source_id) / vintage).exists():
        n += 1
        vintage = f"{base}.{n}"
    return vintage


def record_snapshot(raw_dir: Path, source: Source, raw: RawFile, content: Path, *, sha256: str, size: int,
                    origin: str, etag: str | None = None, last_modified: str | None = None,
                    status: str = "candidate", reason: str | None = None,
                    parts: list[dict] | None = None, discovered: dict | None = None) -> Snapshot:
    """Keep `content` (moved, not copied) as a snapshot of `raw`, unless a snapshot already holds these bytes.
    One snapshot folder per source and run: files of the same source changed in one run share a vintage.
    `parts`: for a file adapted from several downloads, each one's {part, url, sha256, bytes, etag, last_modified}.
    `discovered` ({name, listing, git_sha}): the publisher file a discovery rule took for this path."""
    existing = _find(raw_dir, source.source_id, raw.path, sha256)
    if existing is not None:
        Path(content).unlink(missing_ok=True)
        return existing
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    open_snapshot = _open_snapshot(raw_dir, source.source_id, raw.path)
    vintage = open_snapshot or _new_vintage_id(raw_dir, source.source_id, now)
    folder = source_dir(raw_dir, source.source_id) / vintage
    target = folder / raw.path
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(content, target)
    meta = folder / SNAPSHOT_FILE
    doc = _read_json(meta, {"source_id": source.source_id, "vintage": vintage, "status": status, "files": [],
                            "created_at": now.isoformat()})
    doc["files"].append({
        "path": raw.path, "origin": origin, "retrieved_at": now.isoformat(), "etag": etag,
        "last_modified": last_modified, "sha256": sha256, "bytes": size,
        "registered_sha256": raw.sha256, "registered_bytes": raw.bytes, **({"parts": parts} if parts else {}),
        **({"discovered": discovered} if discovered else {}),
    })
    if reason:
        doc["reasons"] = [*doc.get("reasons", []), reason]
        doc["status"] = status
    _write_json(meta, doc)
    return Snapshot(source.source_id, vintage, folder, doc)


def _open_snapshot(raw_dir: Path, source_id: str, path: str) -> str | None:
    """The latest candidate snapshot of this source not yet holding `path`, created in this process's run
    (within the last hour): changed files of one fetch share a vintage."""
    for snap in reversed(snapshots(raw_dir, source_id)):
        if snap.status != "candidate" or any(f["path"] == path for f in snap.files):
            return None
        created = dt.datetime.fromisoformat(snap.doc.get("created_at", "1970-01-01T00:00:00+00:00"))
        if dt.datetime.now(dt.timezone.utc) - created < dt.timedelta(hours=1):
            return snap.vintage
        return None
    return None


def set_working(raw_dir: Path, source_id: str, raw: RawFile, *, sha256: str, size: int, vintage: str | None,
                etag: str | None = None, last_modified: str | None = None,
                discovered_name: str | None = None) -> None:
    """Record what the working copy is about to be (before it is replaced: a crash in between leaves a working
    copy that no longer verifies, i.e. a stale source that the next build fetches again). `discovered_name`: the
    publisher's file it came from, when a discovery rule chose it (its validators are that file's)."""
    state_path = source_dir(raw_dir, source_id) / STATE_FILE
    doc = _read_json(state_path, {"files": {}})
    files = doc.setdefault("files", {})
    if vintage is None and not (etag or last_modified):
        files.pop(raw.path, None)  # the registered bytes: nothing to remember
    else:
        files[raw.path] = {"sha256": sha256, "bytes": size, "vintage": vintage, "etag": etag,
                           "last_modified": last_modified,
                           **({"discovered_name": discovered_name} if discovered_name else {})}
    _write_json(state_path, doc)


def working_vintage(raw_dir: Path, source_id: str, path: str) -> str | None:
    entry = working_state(raw_dir, source_id).get(path)
    return entry.get("vintage") if entry else None


def working_parts(raw_dir: Path, source_id: str, path: str) -> list[dict]:
    """The parts ({part, url, sha256, bytes, etag, last_modified}) recorded in the snapshot the working copy of a
    multi-part live file came from, or [] (the registered bytes, or not a multi-part file)."""
    vintage = working_vintage(raw_dir, source_id, path)
    for snap in snapshots(raw_dir, source_id) if vintage else ():
        if snap.vintage == vintage:
            return next((f.get("parts") or [] for f in snap.files if f["path"] == path), [])
    return []


def working_discovered_name(raw_dir: Path, source_id: str, path: str) -> str | None:
    """The publisher file name a discovery rule took for the working copy, if it recorded one."""
    entry = working_state(raw_dir, source_id).get(path)
    return entry.get("discovered_name") if entry else None


def _set_status(snap: Snapshot, status: str, **extra) -> None:
    doc = dict(snap.doc, status=status, **extra)
    _write_json(snap.folder / SNAPSHOT_FILE, doc)


def in_use(registry: dict[str, Source], raw_dir: Path) -> list[Snapshot]:
    """The snapshots whose bytes are the working copies now (what a build parses)."""
    used = []
    for source in registry.values():
        state = working_state(raw_dir, source.source_id)
        names = {e.get("vintage") for e in state.values() if e.get("vintage")}
        used += [s for s in snapshots(raw_dir, source.source_id) if s.vintage in names]
    return used


def mark_published(registry: dict[str, Source], raw_dir: Path, release_id: str) -> list[Snapshot]:
    """After a publish: every snapshot in use becomes (or stays) published, first in `release_id`."""
    marked = []
    for snap in in_use(registry, raw_dir):
        if snap.status != "published":
            stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
            _set_status(snap, "published", release=release_id, published_at=stamp)
            marked.append(snap)
    return marked


def mark_held(registry: dict[str, Source], raw_dir: Path, reasons: list[str],
              run_id: str | None = None) -> list[Snapshot]:
    """After a failed build: the candidate snapshots in use are held, with the failures that stopped it. With
    `run_id` (a check failing inside a run), the reasons add to those of earlier failures of the same run."""
    held = []
    for snap in in_use(registry, raw_dir):
        if snap.status in ("candidate", "held"):
            mine = [r for r in reasons if snap.source_id in r] or reasons
            if run_id is not None and snap.doc.get("held_in_run") == run_id:
                mine = list(dict.fromkeys([*snap.doc.get("reasons", []), *mine]))
            _set_status(snap, "held", reasons=mine[:20], held_in_run=run_id)
            held.append(snap)
    return held


def snapshot_files(registry: dict[str, Source], raw_dir: Path) -> list[dict]:
    """Every file of every snapshot: {source_id, vintage, path, sha256, status, accepted}, for the release checks
    (pipelines.validation.release) to name the vintage a value comes from and let an accepted one through."""
    return [{"source_id": snap.source_id, "vintage": snap.vintage, "path": f["path"], "sha256": f["sha256"],
             "status": snap.status, "accepted": snap.doc.get("accepted")}
            for source_id in sorted(registry) for snap in snapshots(raw_dir, source_id) for f in snap.files]


def accept(raw_dir: Path, source_id: str, vintage: str, reason: str) -> Snapshot:
    """A person's decision that a held snapshot's large value moves are true revisions: the release check
    `release_value_moves` then reports the moves of its files (the same bytes only) as WARN instead of refusing
    them; every other check still applies. The snapshot becomes a candidate again, with `accepted` (time,
    reason), and the next build publishes it when nothing else fails. Raises PipelineDataError otherwise."""
    from pipelines.base.errors import PipelineDataError

    found = {snap.vintage: snap for snap in snapshots(raw_dir, source_id)}
    snap = found.get(vintage)
    if snap is None:
        known = ", ".join(f"{v} ({s.status})" for v, s in found.items()) or "none"
        raise PipelineDataError(f"no snapshot {vintage!r} of {source_id}; its snapshots: {known}",
                                source_id=source_id, rule="vintage_exists")
    if snap.status not in ("candidate", "held"):
        raise PipelineDataError(f"snapshot {source_id}/{vintage} is {snap.status}: only a held or candidate "
                                "vintage can be accepted", source_id=source_id, rule="vintage_acceptable")
    if not reason.strip():
        raise PipelineDataError("say why the moves are true revisions (--reason)", source_id=source_id,
                                rule="vintage_acceptable")
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    doc = {k: v for k, v in snap.doc.items() if k != "reasons"}  # what held it stays beside the decision
    doc.update(status="candidate", accepted={"at": stamp, "reason": reason.strip(),
                                             "held_for": snap.doc.get("reasons", [])})
    _write_json(snap.folder / SNAPSHOT_FILE, doc)
    return Snapshot(source_id, vintage, snap.folder, doc)


def describe(raw_dir: Path, registry: dict[str, Source], source_ids: list[str] | None = None) -> list[dict]:
    """One row per snapshot file, for `ai-readiness vintages`: source, vintage, status, path, sha256, bytes,
    origin, retrieved_at, release, in_use, reason, accepted."""
    rows = []
    for source_id in source_ids or sorted(registry):
        state = working_state(raw_dir, source_id)
        for snap in snapshots(raw_dir, source_id):
            for f in snap.files:
                rows.append({
                    "source_id": source_id, "vintage": snap.vintage, "status": snap.status, "path": f["path"],
                    "sha256": f["sha256"], "bytes": f["bytes"], "origin": f.get("origin"),
                    "retrieved_at": f.get("retrieved_at"), "etag": f.get("etag"),
                    "last_modified": f.get("last_modified"), "release": snap.doc.get("release"),
                    "in_use": (state.get(f["path"]) or {}).get("vintage") == snap.vintage,
                    "discovered_name": (f.get("discovered") or {}).get("name"),
                    "reason": "; ".join(snap.doc.get("reasons", []))[:300] or None,
                    "accepted": snap.doc.get("accepted"),
                })
    return rows
