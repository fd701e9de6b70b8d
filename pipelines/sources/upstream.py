"""Has a publisher's file changed? Cheap probes of the registered URLs, and the schedule settings.

A probe asks the server with HEAD for an ETag or Last-Modified (with Content-Length); a server that gives neither
is asked for the body, which is hashed (streamed, size-capped) and compared with the registered sha256. Probes go
through pipelines.sources.fetch's client: https only, bounded timeouts and redirects.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipelines.base.settings import CONFIG_DIR
from pipelines.sources.fetch import HttpPolicy, make_client, max_download_bytes
from pipelines.sources.registry import RawFile

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


def probe(client: httpx.Client, raw: RawFile) -> str:
    """A fingerprint of what the URL serves now: 'etag:…', 'modified:…' (both with the length) or 'sha256:…'."""
    head = client.head(raw.url, headers={"Accept-Encoding": "identity"})
    if head.status_code < 400:
        length = head.headers.get("Content-Length", "?")
        if head.headers.get("ETag"):
            return f"etag:{head.headers['ETag']}|bytes:{length}"
        if head.headers.get("Last-Modified"):
            return f"modified:{head.headers['Last-Modified']}|bytes:{length}"
    digest, size = hashlib.sha256(), 0
    with client.stream("GET", raw.url, headers={"Accept-Encoding": "identity"}) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes(1 << 16):
            size += len(chunk)
            if size > max_download_bytes(raw):
                raise ValueError(f"{raw.url}: more than {max_download_bytes(raw)} bytes")
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def differs(raw: RawFile, fingerprint: str, previous: str | None) -> bool:
    """A hash is compared with the registry; a header fingerprint with the last one seen (on first sight, only
    its length can be compared with the registered size)."""
    if fingerprint.startswith("sha256:"):
        return fingerprint != f"sha256:{raw.sha256}"
    if previous is not None:
        return fingerprint != previous
    length = fingerprint.rsplit("|bytes:", 1)[-1]
    return length.isdigit() and int(length) != raw.bytes


def check_sources(sources, previous: dict, policy: HttpPolicy | None = None) -> tuple[list[str], dict, list[str]]:
    """Probe every file with a URL. Returns (changed source ids, fingerprints now {source: {path: fp}}, errors).
    A probe that fails keeps the previous fingerprint and reports an error: no run is started on a network blip."""
    changed, seen, errors = [], {}, []
    with make_client(policy or HttpPolicy(attempts=1)) as client:
        for source in sources:
            before = previous.get(source.source_id, {})
            now = {}
            for raw in (f for f in source.files if f.url):
                try:
                    now[raw.path] = probe(client, raw)
                except (httpx.HTTPError, ValueError) as exc:
                    errors.append(f"{source.source_id}/{raw.path}: {type(exc).__name__}: {exc}")
                    if raw.path in before:
                        now[raw.path] = before[raw.path]
                    continue
                if differs(raw, now[raw.path], before.get(raw.path)) and source.source_id not in changed:
                    changed.append(source.source_id)
            seen[source.source_id] = now
    return changed, seen, errors
