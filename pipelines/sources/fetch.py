"""Get raw files into data/raw/<source_id>/: from the offline mirror or the publisher's URL, checksum-verified.

Live downloads are defensive: https only, bounded timeouts, retries and redirects, a size cap, HTML error
pages refused, atomic writes; a DNS or connect failure marks the host, so its other files fail at once instead of
retrying. Bytes other than the registered ones are a new vintage: a dated snapshot under raw/<source_id>/<vintage>/
(pipelines.sources.vintages) that the build parses, validates and publishes like any other, unless --pinned.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from tenacity import Retrying, before_sleep_log, retry_if_exception, stop_after_attempt, wait_exponential

from pipelines.base.errors import ChecksumMismatch, FetchError
from pipelines.base.faults import crash_point
from pipelines.base.settings import MIRROR_ENV
from pipelines.sources.registry import ALLOW_LOCAL_HTTP_ENV, RawFile, Source

log = logging.getLogger(__name__)


HTTP_LIMITS_ENV = "AI_READINESS_HTTP_LIMITS"
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_CHUNK = 1 << 16
_MIB = 1 << 20
_HTML_STARTS = (b"<!doctype html", b"<html")
OFFLINE_HINT = (f"No network? Build offline: {MIRROR_ENV}=/path/to/mirror (laid out like ../shared/data), and "
                "--pinned to reproduce the registered release exactly")


@dataclass(frozen=True)
class FetchedFile:
    source_id: str
    path: str  # relative to the source folder
    local_path: Path
    sha256: str
    bytes: int
    origin: str  # "mirror:<path>" or the URL


@dataclass(frozen=True)
class HttpPolicy:
    """Limits for live downloads; tests shrink them to keep failure cases fast."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # longest silence between two reads
    total_timeout: float = 60.0  # whole body of one file, per attempt (a trickling server is a stall too)
    attempts: int = 4
    backoff_seconds: float = 1.0  # first wait between attempts; doubles each time
    backoff_max_seconds: float = 30.0
    max_redirects: int = 5
    allow_local_http: bool | None = None  # None: only if AI_READINESS_ALLOW_LOCAL_HTTP=1

    def local_http_allowed(self) -> bool:
        if self.allow_local_http is not None:
            return self.allow_local_http
        return os.environ.get(ALLOW_LOCAL_HTTP_ENV, "").strip() == "1"

    @classmethod
    def from_env(cls) -> HttpPolicy:
        """The defaults, with $AI_READINESS_HTTP_LIMITS applied, e.g. "read_timeout=5,attempts=2" (a slow link,
        or the fault tests keeping a stalled server short)."""
        text = os.environ.get(HTTP_LIMITS_ENV, "").strip()
        numeric = {f.name: f.type for f in dataclasses.fields(cls) if f.type in ("float", "int")}
        values = {}
        for item in filter(None, (i.strip() for i in text.split(","))):
            name, _, value = item.partition("=")
            name = name.strip()
            try:
                values[name] = (int if numeric[name] == "int" else float)(value)
            except (KeyError, ValueError):
                raise ValueError(f"{HTTP_LIMITS_ENV}: {item!r} is not one of {sorted(numeric)}=<number>") from None
            if values[name] <= 0:
                raise ValueError(f"{HTTP_LIMITS_ENV}: {name} must be positive")
        return cls(**values)


class _Transient(Exception):
    """A failure worth retrying that httpx does not raise itself: 5xx, truncated body, too slow overall."""


class _RefusedURL(Exception):
    """A URL (registered or reached by redirect) that is neither https nor an allowed local http URL."""


# --- hosts that cannot be reached -----------------------------------------------------------------------------
# A DNS failure or a refused / timed-out connect does not heal in seconds: the first one marks the host, and every
# other file from that host in the same run (one process; entries expire so a long-lived daemon retries later)
# fails at once instead of retrying with back-off. 5xx, resets mid-response and stalls are still retried.

HOST_FAILURE_TTL_SECONDS = 300.0
_unreachable_hosts: dict[str, tuple[float, str]] = {}


def host_of(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"


def mark_unreachable(url: str, reason: str) -> None:
    _unreachable_hosts[host_of(url)] = (time.monotonic(), reason)


def unreachable_reason(url: str) -> str | None:
    """Why this URL's host failed earlier in this run, or None (never failed, or long enough ago to try again)."""
    entry = _unreachable_hosts.get(host_of(url))
    if entry is None or time.monotonic() - entry[0] > HOST_FAILURE_TTL_SECONDS:
        return None
    return entry[1]


def forget_unreachable_hosts() -> None:
    _unreachable_hosts.clear()


def _connect_probe(host: str, port: int, timeout: float) -> str | None:
    """None if a TCP connection to host:port opens within `timeout`, else why not (one short phrase)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve {host} ({exc.strerror})"
    except OSError as exc:
        return f"cannot resolve {host} ({exc})"
    last = "no address"
    for family, kind, proto, _, address in infos[:3]:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
                return None
        except OSError as exc:
            last = exc.strerror or type(exc).__name__
    return f"cannot connect to {host}:{port} ({last})"


def unreachable_hosts(urls, timeout: float = 3.0) -> dict[str, str]:
    """Probe each distinct host of `urls` once (DNS, then a TCP connect), all at once, bounded by `timeout`
    seconds each: {host:port: why it cannot be reached} for those that cannot. Nothing is requested over HTTP.
    A host found unreachable is marked, so the downloads in the same run skip it."""
    from concurrent.futures import ThreadPoolExecutor, wait

    targets = {}
    for url in urls:
        parsed = httpx.URL(url)
        targets.setdefault(host_of(url), (parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80), url))
    if not targets:
        return {}
    failed = {}
    pool = ThreadPoolExecutor(max_workers=min(16, len(targets)))
    try:
        futures = {key: pool.submit(_connect_probe, host, port, timeout) for key, (host, port, _) in targets.items()}
        wait(futures.values(), timeout=timeout * 2 + 1)  # getaddrinfo has no timeout of its own
        for key, future in futures.items():
            reason = future.result() if future.done() else f"no answer from {targets[key][0]} in {timeout * 2 + 1:.0f}s"
            if reason:
                failed[key] = reason
                mark_unreachable(targets[key][2], reason)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return failed


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _temp_beside(dest: Path) -> Path:
    """An empty temp file in dest's folder, so os.replace onto dest is atomic (same filesystem). Temp files of
    the same dest left by a killed run are removed first (one build at a time: the build lock)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    for pattern in (f".{glob.escape(dest.name)}.*.part", f".{glob.escape(dest.name)}.*.adapting"):
        for stale in dest.parent.glob(pattern):
            stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    return Path(tmp)


def verify(source_id: str, raw: RawFile, path: Path, accepted: set[str] | None = None) -> str:
    """Raise ChecksumMismatch naming the file and both checksums unless `path` holds accepted bytes: the
    registered sha256, or (`accepted`) the snapshot fetch installed (pipelines.sources.vintages)."""
    actual = sha256_of(path)
    if actual != raw.sha256 and actual not in (accepted or ()):
        raise ChecksumMismatch(
            f"sha256 mismatch: registry expects {raw.sha256}, file has {actual} "
            f"({path.stat().st_size} bytes, registry {raw.bytes}), and no fetched snapshot has these bytes: "
            "a corrupt or hand-edited working copy. Fetch again (ai-readiness fetch) to snapshot it properly.",
            source_id=source_id, file=raw.path, rule="sha256_manifest",
        )
    return actual


def _accepted_here(source_id: str, raw: RawFile, raw_dir: Path) -> set[str]:
    from pipelines.sources.vintages import accepted_sha256

    return accepted_sha256(source_id, raw, raw_dir)


def _is_current(raw: RawFile, dest: Path, accepted: set[str] | None = None) -> str | None:
    """The sha256 of `dest` if it holds accepted bytes (the registered ones by default), else None."""
    if not dest.is_file():
        return None
    if accepted is None and dest.stat().st_size != raw.bytes:
        return None
    actual = sha256_of(dest)
    return actual if actual in (accepted or {raw.sha256}) else None


def _install(source: Source, raw: RawFile, raw_dir: Path, content: Path, *, sha: str, size: int, origin: str,
             etag: str | None = None, last_modified: str | None = None,
             parts: list[dict] | None = None, discovered: dict | None = None) -> tuple[str, int]:
    """Make `content` (a temp file, consumed) the working copy of `raw`. The registered bytes go straight in; other
    bytes become (or reuse) a dated snapshot first, and the working copy a copy of it. With --pinned, other bytes
    are kept as a refused snapshot and the build stops naming both checksums. `discovered`: which publisher file
    a discovery rule took (pipelines.sources.discovery), kept with the snapshot and the working copy."""
    from pipelines.sources import vintages

    dest = raw_dir / source.source_id / raw.path
    name = (discovered or {}).get("name")
    if sha == raw.sha256:
        vintages.set_working(raw_dir, source.source_id, raw, sha256=sha, size=size, vintage=None, etag=etag,
                             last_modified=last_modified, discovered_name=name)
        crash_point("fetch:temp_written")
        os.replace(content, dest)
        return sha, size
    if vintages.pinned():
        snap = vintages.record_snapshot(raw_dir, source, raw, content, sha256=sha, size=size, origin=origin,
                                        etag=etag, last_modified=last_modified, status="refused", parts=parts,
                                        reason="--pinned: differs from the registered sha256")
        raise ChecksumMismatch(
            f"--pinned: {origin} has sha256 {sha} ({size} bytes), registry expects {raw.sha256} "
            f"({raw.bytes} bytes). Kept as snapshot {snap.folder}; the working copy is untouched. Build without "
            "--pinned to validate and publish it as a new vintage",
            source_id=source.source_id, file=raw.path, rule="sha256_manifest",
        )
    snap = vintages.record_snapshot(raw_dir, source, raw, content, sha256=sha, size=size, origin=origin,
                                    etag=etag, last_modified=last_modified, parts=parts, discovered=discovered)
    log.warning("%s/%s: new vintage %s (sha256 %s, %d bytes; registry %s)%s", source.source_id, raw.path,
                snap.vintage, sha[:12], size, raw.sha256[:12], f" from the publisher's {name}" if name else "")
    vintages.set_working(raw_dir, source.source_id, raw, sha256=sha, size=size, vintage=snap.vintage, etag=etag,
                         last_modified=last_modified, discovered_name=name)
    tmp = _temp_beside(dest)
    try:
        shutil.copyfile(snap.folder / raw.path, tmp)
        crash_point("fetch:temp_written")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return sha, size


def fetch_from_mirror(source: Source, raw: RawFile, mirror: Path, raw_dir: Path) -> FetchedFile:
    """The mirror file is what the publisher serves now: the registered bytes, or a new vintage of the source."""
    src = mirror / source.source_id / raw.path
    if not src.is_file():
        raise FetchError(f"not in the offline mirror at {src}", source_id=source.source_id, file=raw.path,
                         rule="mirror_file_exists")
    dest = raw_dir / source.source_id / raw.path
    mirror_sha = sha256_of(src)
    current = _is_current(raw, dest, {mirror_sha})
    if current is None or (mirror_sha != raw.sha256 and mirror_sha not in _accepted_here(source.source_id, raw,
                                                                                        raw_dir)):
        tmp = _temp_beside(dest)
        try:
            with tmp.open("wb") as out, src.open("rb") as inp:
                shutil.copyfileobj(inp, out, _MIB)
            copied = sha256_of(tmp)
            if copied != mirror_sha:  # the mirror changed while we copied: do not trust either read
                raise FetchError(f"{src} changed while it was copied", source_id=source.source_id, file=raw.path,
                                 rule="mirror_stable")
            _install(source, raw, raw_dir, tmp, sha=copied, size=tmp.stat().st_size, origin=f"mirror:{src}")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    elif mirror_sha == raw.sha256:
        from pipelines.sources import vintages

        if vintages.working_vintage(raw_dir, source.source_id, raw.path) is not None:
            vintages.set_working(raw_dir, source.source_id, raw, sha256=mirror_sha, size=raw.bytes, vintage=None)
    return FetchedFile(source.source_id, raw.path, dest, mirror_sha, dest.stat().st_size, f"mirror:{src}")


# --- live download -------------------------------------------------------------------------------------------


def _check_url(url: httpx.URL, policy: HttpPolicy) -> None:
    if url.scheme == "https":
        return
    if url.scheme == "http" and url.host in _LOCAL_HOSTS and policy.local_http_allowed():
        return
    raise _RefusedURL(f"refused {url}: only https URLs are allowed")


def _require_https(url: str, policy: HttpPolicy, *, source_id: str, file: str, what: str = "") -> None:
    """_check_url before a download, as the FetchError a build reports (`what` names a part of the file)."""
    try:
        _check_url(httpx.URL(url), policy)
    except _RefusedURL as exc:
        raise FetchError(f"{what}{exc}", source_id=source_id, file=file, rule="https_only") from None


def make_client(policy: HttpPolicy | None = None) -> httpx.Client:
    """One client per run: connection reuse, timeouts, bounded redirects, every hop's URL checked."""
    policy = policy or HttpPolicy()
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)

    def check_every_hop(request: httpx.Request) -> None:  # a redirect must not downgrade to http
        _check_url(request.url, policy)

    return httpx.Client(
        timeout=timeout, follow_redirects=True, max_redirects=policy.max_redirects,
        event_hooks={"request": [check_every_hop]},
        headers={"User-Agent": "ai-readiness-pipeline (httpx)"},
    )


def max_download_bytes(raw: RawFile) -> int:
    """Room for a grown upstream file, but not for an endless or hostile body; a live endpoint whose format is
    wordier than the pinned file's (SDMX-CSV with labels) declares its own cap (live.files.<path>.max_bytes)."""
    return max(raw.bytes * 2 + _MIB, raw.live_max_bytes or 0)


def _looks_like_html(first_chunk: bytes) -> bool:
    head = first_chunk[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_HTML_STARTS)


def _stream_to(client: httpx.Client, source_id: str, raw: RawFile, tmp: Path,
               policy: HttpPolicy, url: str, headers: dict | None = None) -> tuple[str, int, dict]:
    """One attempt: stream the body into `tmp`, return (sha256, bytes). Raises _Transient / httpx errors to retry."""
    limit = max_download_bytes(raw)
    started = time.monotonic()
    digest, size = hashlib.sha256(), 0

    def refuse(message: str, rule: str) -> FetchError:
        return FetchError(message, source_id=source_id, file=raw.path, rule=rule)

    with client.stream("GET", url, headers=headers or {}) as response:
        if response.status_code == 304 and headers:  # conditional request: what we have is current
            return "", 0, {"not_modified": True}
        if response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code} from {response.url}")
        if response.status_code >= 400:  # the request itself is wrong: retrying cannot help
            raise refuse(f"HTTP {response.status_code} from {response.url} (not retried)", "http_status")
        declared = response.headers.get("Content-Length")
        declared = int(declared) if declared and declared.isdigit() else None
        if declared is not None and declared > limit:
            raise refuse(f"{response.url} announces {declared} bytes, over the {limit}-byte cap "
                         f"(registry: {raw.bytes})", "max_size")
        with tmp.open("wb") as out:
            for chunk in response.iter_bytes(_CHUNK):
                if size == 0 and _looks_like_html(chunk) and not raw.path.lower().endswith((".html", ".htm")):
                    raise refuse(f"{response.url} served an HTML page (HTTP {response.status_code}) instead of "
                                 f"{Path(raw.path).suffix or 'the data file'}: an error or login page", "not_html")
                size += len(chunk)
                if size > limit:
                    raise refuse(f"{response.url} sent more than {limit} bytes (registry: {raw.bytes}); aborted",
                                 "max_size")
                if time.monotonic() - started > policy.total_timeout:
                    raise _Transient(f"download slower than {policy.total_timeout}s total")
                digest.update(chunk)
                out.write(chunk)
        if declared is not None and response.num_bytes_downloaded < declared:
            raise _Transient(f"truncated body: {response.num_bytes_downloaded} of {declared} bytes")
        found = {"etag": response.headers.get("ETag"), "last_modified": response.headers.get("Last-Modified"),
                 "url": str(response.url)}
    return digest.hexdigest(), size, found


def _is_transient(exc: BaseException) -> bool:
    # TransportError covers read timeouts, resets and httpx's own truncated-body check. A DNS failure or a refused
    # or timed-out connect is not retried: it does not heal within a back-off (the host is marked instead).
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol)):
        return False
    return isinstance(exc, (_Transient, httpx.TransportError))


def _one_line(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, _Transient) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def _download(client: httpx.Client, source_id: str, raw: RawFile, dest: Path,
              policy: HttpPolicy, url: str | None = None, headers: dict | None = None) -> tuple[Path, str, int, dict]:
    """Download `url` (default: the registered one) with retries into a temp file beside `dest`; return (temp
    path, sha256, bytes, {etag, last_modified, url} or {not_modified: True} after a 304)."""
    url = url or raw.url

    def attempt() -> tuple[Path, str, int, dict]:
        tmp = _temp_beside(dest)
        try:
            return (tmp, *_stream_to(client, source_id, raw, tmp, policy, url, headers))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.backoff_seconds, max=policy.backoff_max_seconds),
        retry=retry_if_exception(_is_transient),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
    where = dict(source_id=source_id, file=raw.path)
    host = httpx.URL(url).host
    earlier = unreachable_reason(url)
    if earlier is not None:  # the same host failed to connect a moment ago: do not wait for it again
        raise FetchError(f"cannot reach {host} (earlier in this run: {earlier}); not retried. {OFFLINE_HINT}",
                         rule="network", **where)
    try:
        return retrying(attempt)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # DNS failure, refused, unroutable: offline?
        mark_unreachable(url, _one_line(exc))
        raise FetchError(f"cannot reach {host} ({_one_line(exc)}). {OFFLINE_HINT}", rule="network",
                         **where) from None
    except (_Transient, httpx.TransportError) as exc:
        raise FetchError(f"download of {url} failed after {policy.attempts} attempts: {_one_line(exc)}",
                         rule="download", **where) from None
    except httpx.TooManyRedirects:
        raise FetchError(f"more than {policy.max_redirects} redirects from {url} (a redirect loop?)",
                         rule="max_redirects", **where) from None
    except _RefusedURL as exc:
        raise FetchError(str(exc), rule="https_only", **where) from None


def fetch_from_url(source: Source, raw: RawFile, raw_dir: Path, client: httpx.Client,
                   policy: HttpPolicy) -> FetchedFile:
    """Download the registered URL unless the working copy already holds accepted bytes; when the server gave
    ETag / Last-Modified for it, ask again conditionally (a 304 keeps it). New bytes are a new vintage."""
    from pipelines.sources import vintages

    where = dict(source_id=source.source_id, file=raw.path)
    if live_parts(raw):  # the publisher serves this file in several requests
        return fetch_parts_from_url(source, raw, raw_dir, client, policy)
    url, adapter = live_target(raw)
    dest = raw_dir / source.source_id / raw.path
    current = _is_current(raw, dest, _accepted_here(source.source_id, raw, raw_dir))
    if not url:
        if current is not None:  # a curated file copied from the mirror earlier: nothing to download
            return FetchedFile(source.source_id, raw.path, dest, current, dest.stat().st_size, "local")
        raise FetchError(f"no download URL registered: only available from the offline mirror ({MIRROR_ENV})",
                         rule="live_download", **where)
    _require_https(url, policy, **where)
    known = vintages.validators(source.source_id, raw, raw_dir) if current else {}
    if current is not None and not known and url == raw.url:  # a pinned URL's bytes never change: no download
        return FetchedFile(source.source_id, raw.path, dest, current, dest.stat().st_size, url)
    discovered = None
    if raw.live_discover and url == raw.live_url:  # the publisher names each release anew: find the newest
        discovered = _discover(client, source, raw, dest, policy)
        url = discovered.url
        if vintages.working_discovered_name(raw_dir, source.source_id, raw.path) != discovered.name:
            known = {}  # the validators belong to another file of the publisher's
    headers = {}
    if known.get("etag"):
        headers["If-None-Match"] = known["etag"]
    if known.get("last_modified"):
        headers["If-Modified-Since"] = known["last_modified"]
    tmp, sha, size, found = _download(client, source.source_id, raw, dest, policy, url, headers)
    if found.get("not_modified"):
        tmp.unlink(missing_ok=True)
        return FetchedFile(source.source_id, raw.path, dest, current, dest.stat().st_size, url)
    try:
        origin = url
        if adapter:  # the publisher's format differs from the pinned file's: adapt, then it is the same kind
            adapted = _adapted(source, raw, dest, tmp)
            tmp.unlink(missing_ok=True)
            tmp, sha, size = adapted, sha256_of(adapted), adapted.stat().st_size
            origin = f"{url} ({adapter}{': ' + raw.live_options['member'] if 'member' in raw.live_options else ''})"
        sha, size = _install(source, raw, raw_dir, tmp, sha=sha, size=size, origin=origin, etag=found.get("etag"),
                             last_modified=found.get("last_modified"),
                             discovered=discovered.as_metadata() if discovered else None)
    finally:
        tmp.unlink(missing_ok=True)
    return FetchedFile(source.source_id, raw.path, dest, sha, size, url)


def _discover(client: httpx.Client, source: Source, raw: RawFile, dest: Path, policy: HttpPolicy):
    """The newest publisher file under the registry's discovery rule (pipelines.sources.discovery); the listing
    is downloaded like any file (retries, size cap, unreachable hosts)."""
    from pipelines.sources.discovery import newest_file

    listing = raw.live_discover["listing"]
    _require_https(listing, policy, source_id=source.source_id, file=raw.path)
    tmp, _, _, _ = _download(client, source.source_id, raw, dest, policy, listing,
                             {"Accept": "application/vnd.github+json"})
    try:
        return newest_file(tmp.read_bytes(), raw, source_id=source.source_id)
    finally:
        tmp.unlink(missing_ok=True)


def _adapted(source: Source, raw: RawFile, dest: Path, downloaded: Path | dict[str, Path]) -> Path:
    """A temp file beside `dest` holding the registry's adapter's output for `downloaded` (one file, or {part:
    path}); removed again if the adapter fails."""
    from pipelines.sources.adapters import adapt

    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".adapting")
    os.close(fd)
    adapted = Path(name)
    try:
        adapt(raw.live_adapter, downloaded, adapted, raw.live_options, source_id=source.source_id, file=raw.path)
    except BaseException:
        adapted.unlink(missing_ok=True)
        raise
    return adapted


def live_target(raw: RawFile) -> tuple[str | None, str | None]:
    """(URL, format adapter) a live fetch of `raw` uses: the publisher's current endpoint from the registry's live
    section, or the pinned URL with --pinned or when the source has none."""
    from pipelines.sources.vintages import pinned

    if pinned() or not raw.live_url:
        return raw.url, None
    return raw.live_url, raw.live_adapter


def live_parts(raw: RawFile) -> dict[str, str]:
    """{part name: URL} when a live fetch of `raw` takes several requests (live.files.<path>.parts), else {}
    (one URL, or --pinned: the pinned URL)."""
    from pipelines.sources.vintages import pinned

    return {} if pinned() else dict(raw.live_parts)


def fetch_parts_from_url(source: Source, raw: RawFile, raw_dir: Path, client: httpx.Client,
                         policy: HttpPolicy) -> FetchedFile:
    """Download every part of a multi-part live file, one after the other with the same policy, retries and host
    short-circuit as any file, then let the adapter put them together into the pinned layout and install that like
    any download (registered bytes, or a new vintage). A part that fails stops the file: nothing is installed.
    The snapshot records each part's URL, sha256, size and ETag / Last-Modified. Always downloaded in full: the
    parts are small API answers, and the adapted file's bytes decide whether anything changed."""
    parts = live_parts(raw)
    dest = raw_dir / source.source_id / raw.path
    for name, url in parts.items():
        _require_https(url, policy, source_id=source.source_id, file=raw.path, what=f"part {name}: ")
    downloaded, recorded = {}, []
    try:
        for name, url in parts.items():  # temp files .<file>.<part>.*.part: a killed run's are removed next time
            tmp, sha, size, found = _download(client, source.source_id, raw, dest.with_name(f"{dest.name}.{name}"),
                                              policy, url)
            downloaded[name] = tmp
            recorded.append({"part": name, "url": found.get("url", url), "sha256": sha, "bytes": size,
                             "etag": found.get("etag"), "last_modified": found.get("last_modified")})
        adapted = _adapted(source, raw, dest, downloaded)
    finally:
        for tmp in downloaded.values():
            tmp.unlink(missing_ok=True)
    origin = f"{'; '.join(parts.values())} ({raw.live_adapter})"
    try:
        sha, size = _install(source, raw, raw_dir, adapted, sha=sha256_of(adapted), size=adapted.stat().st_size,
                             origin=origin, parts=recorded)
    finally:
        adapted.unlink(missing_ok=True)
    return FetchedFile(source.source_id, raw.path, dest, sha, size, raw.live_url)


def fetch_source(source: Source, raw_dir: Path, mirror: Path | None = None, *,
                 policy: HttpPolicy | None = None) -> list[FetchedFile]:
    """Every registered file of one source, verified: from `mirror` when given, else downloaded live."""
    if mirror is not None:
        return [fetch_from_mirror(source, raw, mirror, raw_dir) for raw in source.files]
    policy = policy or HttpPolicy.from_env()
    with make_client(policy) as client:
        return [fetch_from_url(source, raw, raw_dir, client, policy) for raw in source.files]
