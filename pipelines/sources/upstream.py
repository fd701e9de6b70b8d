"""Has a publisher's file changed? Cheap probes of the live endpoints, and the schedule settings.

The weekly check (`changed_sources`) asks each live endpoint conditionally, with the ETag / Last-Modified recorded
when its working copy was fetched (If-None-Match / If-Modified-Since): 304 or the same validators is no change.
Without validators the body is hashed (streamed, size-capped) and compared with the accepted sha256s; a body that a
format adapter must turn into the pinned layout first (a World Bank zip) counts as changed, and the run that fetches
it finds out (identical data is no new vintage); a file adapted from several parts (the IMF AIPI) is unchanged only
if every part's conditional HEAD says so against the validators its snapshot recorded. The sensor (`check_sources`)
compares header fingerprints between ticks. Probes go through pipelines.sources.fetch's client: https only, bounded
timeouts and redirects.

A file with a discovery rule (pipelines.sources.discovery: the publisher names each release as a new file) is
probed at the newest file its listing names: a name other than the working copy's is a change by itself, and the
sensor's fingerprint carries the name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipelines.base.errors import FetchError
from pipelines.base.settings import CONFIG_DIR
from pipelines.sources.fetch import HttpPolicy, live_parts, live_target, make_client, max_download_bytes
from pipelines.sources.registry import RawFile, Source

SCHEDULES_CONFIG = CONFIG_DIR / "schedules.yaml"


@dataclass(frozen=True)
class Cron:
    cron: str
    timezone: str


@dataclass(frozen=True)
class ScheduleConfig:
    full_refresh: Cron = Cron("0 6 1 * *", "Asia/Tokyo")
    upstream_check: Cron = Cron("0 6 * * 1", "Asia/Tokyo")
    freshness_grace_days: int = 30
    upstream_sensor_interval_seconds: int = 86400


def load_schedule_config(path: Path = SCHEDULES_CONFIG) -> ScheduleConfig:
    """config/schedules.yaml; a missing key keeps its default."""
    import yaml

    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    default = ScheduleConfig()
    return ScheduleConfig(
        full_refresh=Cron(**{**vars(default.full_refresh), **doc.get("full_refresh", {})}),
        upstream_check=Cron(**{**vars(default.upstream_check), **doc.get("upstream_check", {})}),
        freshness_grace_days=int(doc.get("freshness_grace_days", default.freshness_grace_days)),
        upstream_sensor_interval_seconds=int(
            doc.get("upstream_sensor_interval_seconds", default.upstream_sensor_interval_seconds)),
    )


def _resolved(client: httpx.Client, raw: RawFile, source_id: str) -> tuple[str, str | None]:
    """(URL to probe, publisher file name or None): the newest listed file for a discovery rule, else the live URL."""
    from pipelines.sources.discovery import newest_file

    url = live_target(raw)[0]
    if not raw.live_discover or url != raw.live_url:  # --pinned probes the pinned URL
        return url, None
    listing = b"".join(_chunks(client, raw, raw.live_discover["listing"], {"Accept": "application/vnd.github+json"}))
    found = newest_file(listing, raw, source_id=source_id)
    return found.url, found.name


def probe(client: httpx.Client, raw: RawFile, source_id: str = "") -> str:
    """A fingerprint of what the live URL serves now: 'etag:…', 'modified:…' (both with the length) or 'sha256:…',
    followed by '|file:<name>' for a discovered file; for a file with live parts, 'parts:' and each part's."""
    parts = live_parts(raw)
    if parts:
        return "parts:" + " ".join(f"{name}={_probe_url(client, raw, url)}" for name, url in parts.items())
    url, name = _resolved(client, raw, source_id)
    return _probe_url(client, raw, url) + (f"|file:{name}" if name else "")


def _probe_url(client: httpx.Client, raw: RawFile, url: str) -> str:
    head = client.head(url, headers={"Accept-Encoding": "identity"})
    if head.status_code < 400:
        length = head.headers.get("Content-Length", "?")
        if head.headers.get("ETag"):
            return f"etag:{head.headers['ETag']}|bytes:{length}"
        if head.headers.get("Last-Modified"):
            return f"modified:{head.headers['Last-Modified']}|bytes:{length}"
    return f"sha256:{_body_sha(client, raw, url)}"


def _chunks(client: httpx.Client, raw: RawFile, url: str, headers: dict | None = None):
    """The body of `url`, streamed, refused beyond the file's download cap."""
    size = 0
    with client.stream("GET", url, headers={"Accept-Encoding": "identity", **(headers or {})}) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes(1 << 16):
            size += len(chunk)
            if size > max_download_bytes(raw):
                raise ValueError(f"{url}: more than {max_download_bytes(raw)} bytes")
            yield chunk


def _body_sha(client: httpx.Client, raw: RawFile, url: str) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(client, raw, url):
        digest.update(chunk)
    return digest.hexdigest()


def differs(raw: RawFile, fingerprint: str, previous: str | None) -> bool:
    """A hash is compared with the registry; a header fingerprint with the last one seen (on first sight, only
    its length can be compared with the registered size)."""
    if fingerprint.startswith("parts:"):  # adapted from several answers: only comparable with the last one seen
        return fingerprint != previous
    fingerprint_of_bytes = fingerprint.split("|file:", 1)[0]
    if fingerprint.startswith("sha256:"):
        return fingerprint_of_bytes != f"sha256:{raw.sha256}"
    if previous is not None:
        return fingerprint != previous
    length = fingerprint_of_bytes.rsplit("|bytes:", 1)[-1]
    return length.isdigit() and int(length) != raw.bytes


def check_sources(sources, previous: dict, policy: HttpPolicy | None = None) -> tuple[list[str], dict, list[str]]:
    """Probe every file with a URL. Returns (changed source ids, fingerprints now {source: {path: fp}}, errors).
    A probe that fails keeps the previous fingerprint and reports an error: no run is started on a network blip."""
    changed, seen, errors = [], {}, []
    with make_client(policy or HttpPolicy(attempts=1)) as client:
        for source in sources:
            before = previous.get(source.source_id, {})
            now = {}
            for raw in (f for f in source.files if live_target(f)[0]):
                try:
                    now[raw.path] = probe(client, raw, source.source_id)
                except (httpx.HTTPError, ValueError, FetchError) as exc:
                    errors.append(f"{source.source_id}/{raw.path}: {type(exc).__name__}: {exc}")
                    if raw.path in before:
                        now[raw.path] = before[raw.path]
                    continue
                if differs(raw, now[raw.path], before.get(raw.path)) and source.source_id not in changed:
                    changed.append(source.source_id)
            seen[source.source_id] = now
    return changed, seen, errors


def file_changed(client: httpx.Client, source: Source, raw: RawFile, raw_dir: Path) -> bool:
    """Whether the live endpoint of `raw` serves something other than the working copy (see the module docstring)."""
    from pipelines.sources.vintages import accepted_sha256, validators, working_discovered_name

    if live_parts(raw):
        return _parts_changed(client, source, raw, raw_dir)
    adapter = live_target(raw)[1]
    url, name = _resolved(client, raw, source.source_id)
    known = validators(source.source_id, raw, raw_dir)
    if name is not None:
        recorded = working_discovered_name(raw_dir, source.source_id, raw.path)
        if recorded is not None and recorded != name:  # the publisher listed a newer file: a change by itself
            return True
        if recorded is None:
            known = {}  # validators (if any) are not known to be this file's
    if _head_says_unchanged(client, url, known):
        return False
    if adapter:
        return True
    return _body_sha(client, raw, url) not in accepted_sha256(source.source_id, raw, raw_dir)


def _head_says_unchanged(client: httpx.Client, url: str, known: dict) -> bool:
    """A conditional HEAD with the recorded ETag / Last-Modified answers 304, or the same validators."""
    headers = {"Accept-Encoding": "identity"}
    if known.get("etag"):
        headers["If-None-Match"] = known["etag"]
    if known.get("last_modified"):
        headers["If-Modified-Since"] = known["last_modified"]
    head = client.head(url, headers=headers)
    if head.status_code == 304:
        return True
    head.raise_for_status()
    same_etag = known.get("etag") and head.headers.get("ETag") == known["etag"]
    same_date = known.get("last_modified") and head.headers.get("Last-Modified") == known["last_modified"]
    return bool(same_etag or same_date)


def _parts_changed(client: httpx.Client, source: Source, raw: RawFile, raw_dir: Path) -> bool:
    """A file with live parts is unchanged only if every part's HEAD says so against the validators its snapshot
    recorded; a part without them counts as changed, like an adapted file (the fetch then finds out: the same
    adapted bytes are no new vintage)."""
    from pipelines.sources.vintages import working_parts

    known = {p["part"]: p for p in working_parts(raw_dir, source.source_id, raw.path)}
    return not all(name in known and _head_says_unchanged(client, url, known[name])
                   for name, url in live_parts(raw).items())


def changed_sources(sources, raw_dir: Path, policy: HttpPolicy | None = None) -> tuple[list[str], list[str]]:
    """The weekly check: (ids of the live sources whose endpoints changed, probe errors). Only the live endpoints
    are probed (a pinned URL names bytes that never change); a probe that fails is an error, not a change."""
    changed, errors = [], []
    with make_client(policy or HttpPolicy(attempts=1)) as client:
        for source in sources:
            if source.live_status != "live":
                continue
            for raw in (f for f in source.files if f.live_url):
                try:
                    if file_changed(client, source, raw, raw_dir):
                        changed.append(source.source_id)
                        break
                except (httpx.HTTPError, ValueError, FetchError) as exc:
                    errors.append(f"{source.source_id}/{raw.path}: {type(exc).__name__}: {exc}")
    return changed, errors
