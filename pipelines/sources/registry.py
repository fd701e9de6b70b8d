"""The source registry: one YAML file per source in config/sources/, data not code.

Each file names the publisher, licence and terms, vintage, expected update cadence, caveats, and every
raw file with its sha256, size, live URL and the parser that reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pipelines.base.settings import CONFIG_DIR

SOURCES_DIR = CONFIG_DIR / "sources"
SOURCES_ENV = "AI_READINESS_SOURCES"
REGISTRY_DIR_ENV = "AI_READINESS_REGISTRY_DIR"  # tests: a temp copy of config/sources (e.g. patched sha256)


@dataclass(frozen=True)
class RawFile:
    path: str  # relative to the source folder, e.g. "raw/top500/TOP500_201011.xls" -> mirror/<source_id>/<path>
    sha256: str
    bytes: int
    url: str | None  # live download URL (HTTPS); None when the file is not a publisher download
    parser: str | None  # name in pipelines.staging.parsers.PARSERS; None for documentation/metadata files
    parser_options: dict = field(default_factory=dict)
    role: str = "data"  # data | metadata | documentation
    live_url: str | None = None  # the publisher's current endpoint (live section); None: the pinned url serves
    live_adapter: str | None = None  # pipelines.sources.adapters name when the live format differs from the pinned
    live_options: dict = field(default_factory=dict)
    # several publisher requests that together make this one file ({part name: URL}, e.g. one per indicator plus
    # the country labels); live_url is then the first part's, and the adapter gets every downloaded part
    live_parts: dict = field(default_factory=dict)
    live_discover: dict | None = None  # {listing, pattern, newest_by}: the file name is found at fetch time
    live_max_bytes: int | None = None  # a larger download cap than the pinned size allows (a wordier format)


@dataclass(frozen=True)
class Source:
    source_id: str
    publisher: str
    dataset: str
    homepage: str
    licence: str
    terms: str
    restrictions: str | None
    vintage: str
    update_cadence_days: int
    pillars: tuple[str, ...]
    caveats: tuple[str, ...]
    files: tuple[RawFile, ...]
    entity_overrides: dict  # source-specific entity name/code -> ISO3, or None for an aggregate
    year_range: tuple[int, int]  # documented first and last year of data
    indicators: tuple[dict, ...] = ()  # per source_code: name, unit, kind, valid_min/max, higher_is_better, pillar
    publisher_url: str | None = None
    secondary_source: bool = False  # a third-party extract or transcription, not the publisher's own file
    live_status: str = "none"  # live: files have live_url; none: only the pinned files (live_reason says why)
    live_endpoint: str | None = None
    live_format: str | None = None
    live_reason: str | None = None

    @property
    def data_files(self) -> tuple[RawFile, ...]:
        return tuple(f for f in self.files if f.parser)


_SOURCE_ID = re.compile(r"[a-z][a-z0-9_]*")


def _check_relative_path(path, origin: Path) -> None:
    """A file's `path` is joined to data/raw/<source_id>/ and to the mirror: it must stay inside them."""
    parts = re.split(r"[/\\]", path) if isinstance(path, str) and path.strip() else []
    if (not parts or path.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", path) or ".." in parts
            or "\0" in path):
        raise ValueError(f"{origin}: file path {path!r} must be relative, without '..' (it would leave the "
                         "source's folder)")


def _source_from_dict(doc: dict, origin: Path) -> Source:
    missing = {
        "source_id", "publisher", "dataset", "licence", "vintage", "update_cadence_days", "files", "year_range"
    } - doc.keys()
    if missing:
        raise ValueError(f"{origin}: registry entry lacks {sorted(missing)}")
    bad_caveats = [c for c in doc.get("caveats", []) if not isinstance(c, str)]
    if bad_caveats:
        raise ValueError(f"{origin}: caveats must be strings (quote lines containing ': '): {bad_caveats}")
    if doc["source_id"] != origin.stem:
        raise ValueError(f"{origin}: source_id {doc['source_id']!r} must equal the file name")
    if not _SOURCE_ID.fullmatch(doc["source_id"]):  # it names a folder and a table (stg_<source_id>)
        raise ValueError(f"{origin}: source_id {doc['source_id']!r} must match {_SOURCE_ID.pattern}")
    for f in doc["files"]:
        _check_relative_path(f.get("path"), origin)
    live = _live_section(doc, origin)
    files = tuple(
        RawFile(
            path=f["path"],
            sha256=f["sha256"].lower(),
            bytes=int(f["bytes"]),
            url=f.get("url"),
            parser=f.get("parser"),
            parser_options=f.get("parser_options") or {},
            role=f.get("role", "data" if f.get("parser") else "documentation"),
            **_live_fields(live["files"].get(f["path"]) or {}),
        )
        for f in doc["files"]
    )
    return Source(
        source_id=doc["source_id"],
        publisher=doc["publisher"],
        dataset=doc["dataset"],
        homepage=doc.get("homepage", ""),
        licence=doc["licence"],
        terms=doc.get("terms", ""),
        restrictions=doc.get("restrictions"),
        vintage=str(doc["vintage"]),
        update_cadence_days=int(doc["update_cadence_days"]),
        pillars=tuple(doc.get("pillars", [])),
        caveats=tuple(doc.get("caveats", [])),
        files=files,
        entity_overrides=dict(doc.get("entity_overrides") or {}),
        year_range=(int(doc["year_range"][0]), int(doc["year_range"][1])),
        indicators=tuple(doc.get("indicators") or ()),
        publisher_url=doc.get("publisher_url"),
        secondary_source=bool(doc.get("secondary_source", False)),
        live_status=live["status"],
        live_endpoint=live.get("endpoint"),
        live_format=live.get("format"),
        live_reason=live.get("reason"),
    )


LIVE_STATUSES = ("live", "none")
_LIVE_KEYS = ("url", "adapter", "parts", "discover", "max_bytes")  # read by fetch; every other key is an adapter option


def _live_fields(spec: dict) -> dict:
    """RawFile's live_* fields from one live.files entry: `url`, or `parts` ({name: URL}, downloaded one by one and
    handed together to the adapter); `adapter`; `discover`; `max_bytes`; anything else is the adapter's options."""
    parts = dict(spec.get("parts") or {})
    return {"live_url": spec.get("url") or next(iter(parts.values()), None), "live_adapter": spec.get("adapter"),
            "live_options": {k: v for k, v in spec.items() if k not in _LIVE_KEYS}, "live_parts": parts,
            "live_discover": spec.get("discover"), "live_max_bytes": spec.get("max_bytes")}


def _live_section(doc: dict, origin: Path) -> dict:
    """The registry's `live` section: status live (per-file publisher URLs, optional format adapter) or none (with
    the reason). Every live URL is https, and every file it names is a registered file."""
    live = doc.get("live") or {"status": "none", "reason": "no live section in the registry entry"}
    if live == "none":
        live = {"status": "none"}
    status = live.get("status")
    if status not in LIVE_STATUSES:
        raise ValueError(f"{origin}: live.status must be one of {LIVE_STATUSES}, not {status!r}")
    files = dict(live.get("files") or {})
    if status == "none" and (files or not live.get("reason")):
        raise ValueError(f"{origin}: live.status none needs a reason and no files")
    if status == "live" and not files:
        raise ValueError(f"{origin}: live.status live needs files with their publisher URLs")
    registered = {f.get("path") for f in doc["files"]}
    for path, spec in files.items():
        if path not in registered:
            raise ValueError(f"{origin}: live.files names {path!r}, which is not a registered file")
        spec = spec or {}
        if "parts" in spec:
            _check_parts(spec, path, origin)
        elif not _allowed_live_url(str(spec.get("url", ""))):
            raise ValueError(f"{origin}: live URL of {path!r} must be https")
        _check_discover(spec, path, origin)
        max_bytes = spec.get("max_bytes")
        if max_bytes is not None and (not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0):
            raise ValueError(f"{origin}: live max_bytes of {path!r} must be a positive integer")
    return {**live, "files": files}


def _check_parts(spec: dict, path: str, origin: Path) -> None:
    """A multi-part live file: named https parts, no `url` beside them, and an adapter to put them together."""
    parts = spec["parts"]
    if "url" in spec or not spec.get("adapter") or not isinstance(parts, dict) or not parts:
        raise ValueError(f"{origin}: live parts of {path!r} need a non-empty {{name: URL}} map, an adapter and no url")
    for name, url in parts.items():
        if not (isinstance(name, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name)):
            raise ValueError(f"{origin}: live part name {name!r} of {path!r} must be an identifier")
        if not _allowed_live_url(str(url)):
            raise ValueError(f"{origin}: live URL of {path!r} part {name} must be https")


def _check_discover(spec: dict, path: str, origin: Path) -> None:
    """`discover: {listing, pattern, newest_by}`: the live URL holds `{name}`, filled at fetch time with the newest
    file name in the listing that matches `pattern` (pipelines.sources.discovery); `newest_by` orders the matches
    by the pattern's named groups, as integers."""
    discover = spec.get("discover")
    has_slot = "{name}" in str(spec.get("url", ""))
    if discover is None:
        if has_slot:
            raise ValueError(f"{origin}: live URL of {path!r} has {{name}} but no discover section fills it")
        return
    if not isinstance(discover, dict) or set(discover) != {"listing", "pattern", "newest_by"}:
        raise ValueError(f"{origin}: live discover of {path!r} needs exactly listing, pattern and newest_by")
    if not has_slot:
        raise ValueError(f"{origin}: live URL of {path!r} must hold {{name}}, the discovered file name")
    if not _allowed_live_url(str(discover["listing"])):
        raise ValueError(f"{origin}: live discover listing of {path!r} must be https")
    try:
        groups = re.compile(discover["pattern"]).groupindex
    except (re.error, TypeError) as exc:
        raise ValueError(f"{origin}: live discover pattern of {path!r} is not a regex: {exc}") from None
    order = discover["newest_by"]
    if not isinstance(order, list) or not order or any(g not in groups for g in order):
        raise ValueError(f"{origin}: live discover newest_by of {path!r} must list named groups of the pattern "
                         f"({sorted(groups)})")


_LOOPBACK_HTTP = re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/")
ALLOW_LOCAL_HTTP_ENV = "AI_READINESS_ALLOW_LOCAL_HTTP"  # read by pipelines.sources.fetch too


def _allowed_live_url(url: str) -> bool:
    """https, or plain http to this machine when $AI_READINESS_ALLOW_LOCAL_HTTP=1 (the loopback publisher of the
    tests): the rule pipelines.sources.fetch applies to every request."""
    import os

    if url.startswith("https://"):
        return True
    return bool(_LOOPBACK_HTTP.match(url)) and os.environ.get(ALLOW_LOCAL_HTTP_ENV, "").strip() == "1"


def load_registry(sources_dir: Path | None = None) -> dict[str, Source]:
    """The registered sources keyed by source_id (the mirror folder name), limited to $AI_READINESS_SOURCES
    (comma-separated ids) when that is set, e.g. to build one source. Read from config/sources/, or from
    $AI_READINESS_REGISTRY_DIR when that is set."""
    import os

    sources_dir = Path(sources_dir or os.environ.get(REGISTRY_DIR_ENV) or SOURCES_DIR)
    only = sorted({s.strip() for s in os.environ.get(SOURCES_ENV, "").split(",") if s.strip()})
    paths = sorted(sources_dir.glob("*.yaml"))
    if only:
        unknown = sorted(set(only) - {p.stem for p in paths})
        if unknown:
            raise ValueError(f"{SOURCES_ENV} names unknown sources {unknown}; registered: {[p.stem for p in paths]}")
        paths = [p for p in paths if p.stem in only]
    return _load(tuple(paths))


@cache
def _load(paths: tuple[Path, ...]) -> dict[str, Source]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: same documents, ~10x faster to parse
    registry = {}
    for path in paths:
        source = _source_from_dict(yaml.load(path.read_text(encoding="utf-8"), Loader=loader), path)
        registry[source.source_id] = source
    return registry
