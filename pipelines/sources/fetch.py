"""Get raw files into data/raw/<source_id>/: from the offline mirror or the publisher's URL, checksum-verified.

Live downloads are defensive: https only, bounded timeouts, retries and redirects, a size cap, HTML error
pages refused, atomic writes. A changed upstream checksum is a new vintage: it is kept aside under
raw/<source_id>/.vintages/<sha256>/<path> and never mixed with the registered file.
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
from pipelines.sources.registry import RawFile, Source

log = logging.getLogger(__name__)

ALLOW_LOCAL_HTTP_ENV = "AI_READINESS_ALLOW_LOCAL_HTTP"
HTTP_LIMITS_ENV = "AI_READINESS_HTTP_LIMITS"
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_CHUNK = 1 << 16
_MIB = 1 << 20
_HTML_STARTS = (b"<!doctype html", b"<html")
VINTAGES_DIR = ".vintages"


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
    for stale in dest.parent.glob(f".{glob.escape(dest.name)}.*.part"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    return Path(tmp)


def _atomic_copy(src: Path, dest: Path) -> None:
    tmp = _temp_beside(dest)
    try:
        with tmp.open("wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out, _MIB)
        crash_point("fetch:temp_written")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
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


def _is_current(raw: RawFile, dest: Path) -> bool:
    return dest.is_file() and dest.stat().st_size == raw.bytes and sha256_of(dest) == raw.sha256


def fetch_from_mirror(source: Source, raw: RawFile, mirror: Path, raw_dir: Path) -> FetchedFile:
    src = mirror / source.source_id / raw.path
    if not src.is_file():
        raise FetchError(f"not in the offline mirror at {src}", source_id=source.source_id, file=raw.path,
                         rule="mirror_file_exists")
    verify(source.source_id, raw, src)
    dest = raw_dir / source.source_id / raw.path
    if not _is_current(raw, dest):
        _atomic_copy(src, dest)
        verify(source.source_id, raw, dest)
    return FetchedFile(source.source_id, raw.path, dest, raw.sha256, raw.bytes, f"mirror:{src}")


# --- live download -------------------------------------------------------------------------------------------


def _check_url(url: httpx.URL, policy: HttpPolicy) -> None:
    if url.scheme == "https":
        return
    if url.scheme == "http" and url.host in _LOCAL_HOSTS and policy.local_http_allowed():
        return
    raise _RefusedURL(f"refused {url}: only https URLs are allowed")


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
    """Room for a grown upstream file, but not for an endless or hostile body."""
    return raw.bytes * 2 + _MIB


def _looks_like_html(first_chunk: bytes) -> bool:
    head = first_chunk[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_HTML_STARTS)


def _stream_to(client: httpx.Client, source_id: str, raw: RawFile, tmp: Path,
               policy: HttpPolicy) -> tuple[str, int]:
    """One attempt: stream the body into `tmp`, return (sha256, bytes). Raises _Transient / httpx errors to retry."""
    limit = max_download_bytes(raw)
    started = time.monotonic()
    digest, size = hashlib.sha256(), 0

    def refuse(message: str, rule: str) -> FetchError:
        return FetchError(message, source_id=source_id, file=raw.path, rule=rule)

    with client.stream("GET", raw.url) as response:
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
    return digest.hexdigest(), size


def _is_transient(exc: BaseException) -> bool:
    # TransportError covers connect/DNS failures, timeouts, resets and httpx's own truncated-body check.
    return isinstance(exc, (_Transient, httpx.TransportError)) and not isinstance(exc, httpx.UnsupportedProtocol)


def _one_line(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, _Transient) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def _download(client: httpx.Client, source_id: str, raw: RawFile, dest: Path,
              policy: HttpPolicy) -> tuple[Path, str, int]:
    """Download with retries into a temp file beside `dest`; return (temp path, sha256, bytes)."""

    def attempt() -> tuple[Path, str, int]:
        tmp = _temp_beside(dest)
        try:
            return (tmp, *_stream_to(client, source_id, raw, tmp, policy))
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
    try:
        return retrying(attempt)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # DNS failure, refused, unroutable: offline?
        host = httpx.URL(raw.url).host
        raise FetchError(f"cannot reach {host} after {policy.attempts} attempts ({_one_line(exc)}). No network? "
                         f"Set {MIRROR_ENV} to an offline mirror folder laid out like ../shared/data",
                         rule="network", **where) from None
    except (_Transient, httpx.TransportError) as exc:
        raise FetchError(f"download of {raw.url} failed after {policy.attempts} attempts: {_one_line(exc)}",
                         rule="download", **where) from None
    except httpx.TooManyRedirects:
        raise FetchError(f"more than {policy.max_redirects} redirects from {raw.url} (a redirect loop?)",
                         rule="max_redirects", **where) from None
    except _RefusedURL as exc:
        raise FetchError(str(exc), rule="https_only", **where) from None


def _keep_new_vintage(source_id: str, raw: RawFile, tmp: Path, raw_dir: Path, sha: str, size: int) -> None:
    """Move the unexpected bytes aside and stop: the registered file stays as it is."""
    vintage = raw_dir / source_id / VINTAGES_DIR / sha / raw.path
    vintage.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, vintage)
    raise ChecksumMismatch(
        f"new upstream vintage: {raw.url} now serves sha256 {sha} ({size} bytes), registry expects "
        f"{raw.sha256} ({raw.bytes} bytes). Kept at {vintage}; the current file is untouched. Review it, then "
        f"update config/sources/{source_id}.yaml",
        source_id=source_id, file=raw.path, rule="sha256_manifest",
    )


def fetch_from_url(source: Source, raw: RawFile, raw_dir: Path, client: httpx.Client,
                   policy: HttpPolicy) -> FetchedFile:
    where = dict(source_id=source.source_id, file=raw.path)
    if not raw.url:
        raise FetchError(f"no download URL registered: only available from the offline mirror ({MIRROR_ENV})",
                         rule="live_download", **where)
    try:
        _check_url(httpx.URL(raw.url), policy)
    except _RefusedURL as exc:
        raise FetchError(str(exc), rule="https_only", **where) from None
    dest = raw_dir / source.source_id / raw.path
    if not _is_current(raw, dest):  # already have exactly these bytes: no download
        tmp, sha, size = _download(client, source.source_id, raw, dest, policy)
        if sha != raw.sha256:
            _keep_new_vintage(source.source_id, raw, tmp, raw_dir, sha, size)
        crash_point("fetch:temp_written")
        os.replace(tmp, dest)
    return FetchedFile(source.source_id, raw.path, dest, raw.sha256, raw.bytes, raw.url)


def fetch_source(source: Source, raw_dir: Path, mirror: Path | None = None, *,
                 policy: HttpPolicy | None = None) -> list[FetchedFile]:
    """Every registered file of one source, verified: from `mirror` when given, else downloaded live."""
    if mirror is not None:
        return [fetch_from_mirror(source, raw, mirror, raw_dir) for raw in source.files]
    policy = policy or HttpPolicy.from_env()
    with make_client(policy) as client:
        return [fetch_from_url(source, raw, raw_dir, client, policy) for raw in source.files]
