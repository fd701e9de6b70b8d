"""Fetching raw files: live downloads against a local hostile HTTP server, the offline mirror, safe zips."""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import shutil
import socket
import stat
import struct
import threading
import time
import zipfile
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.base.errors import ChecksumMismatch, FetchError
from pipelines.sources.archives import safe_extract_zip
from pipelines.sources.fetch import HttpPolicy, fetch_source, max_download_bytes, sha256_of
from pipelines.sources.registry import RawFile, Source

SOURCE_ID = "worldbank_wdi"
SMALL = "raw/datahub_world-development-indicators/it.net.secr.p6/README.md"  # 148 bytes
CSV = "raw/datahub_world-development-indicators/it.net.secr.p6/data.csv"  # ~158 kB

FAST = HttpPolicy(connect_timeout=1.0, read_timeout=0.5, total_timeout=5.0, attempts=3, backoff_seconds=0.01,
                  backoff_max_seconds=0.05, max_redirects=3, allow_local_http=True)



# --- a local HTTP server whose routes misbehave on purpose ----------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server API)
        app = self.server.app
        app.hits[self.path] += 1
        behaviours = app.routes.get(self.path)
        if not behaviours:
            return status(404)(self)
        try:  # the n-th request gets the n-th behaviour; the last one repeats
            behaviours[min(app.hits[self.path], len(behaviours)) - 1](self)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            pass

    def log_message(self, *args):
        pass

    def send_body(self, body: bytes, *, code: int = 200, length: int | None = None, ctype: str = "text/csv"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)


def ok(body: bytes):
    return lambda h: h.send_body(body)


def status(code: int):
    return lambda h: h.send_body(f"error {code}".encode(), code=code, ctype="text/plain")


def redirect(location: str):
    def behave(h):
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return behave


def truncated(body: bytes):  # announces the full length, sends half, closes
    return lambda h: h.send_body(body[: len(body) // 2], length=len(body))


def stall(body: bytes):  # sends half the body, then goes silent past the client's read timeout
    def behave(h):
        h.send_body(body[: len(body) // 2], length=len(body))
        h.wfile.flush()
        h.server.app.stop.wait(5)
    return behave


def trickle(body: bytes):  # never silent long enough for a read timeout, but far too slow overall
    def behave(h):
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for i in range(0, len(body), 16):
            h.wfile.write(body[i:i + 16])
            h.wfile.flush()
            if h.server.app.stop.wait(0.05):
                return
    return behave


def reset(h):  # RST instead of a response
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()


def endless(h):  # no Content-Length, more bytes than any cap
    h.send_response(200)
    h.end_headers()
    for _ in range(64):
        h.wfile.write(b"a,b,c\n" * 10_000)


class _App:
    def __init__(self, port: int):
        self.port = port
        self.routes: dict[str, list] = {}
        self.hits: collections.Counter = collections.Counter()
        self.stop = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, *behaviours) -> str:
        self.routes[path] = list(behaviours)
        return self.url(path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a stalled handler must not hold up teardown

    def handle_error(self, request, client_address):
        pass


@contextmanager
def serving():
    """The scripted server on a free 127.0.0.1 port, in a thread; yields its _App (routes, request log)."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.app = _App(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.app
    finally:
        httpd.app.stop.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture()
def server():
    with serving() as app:
        yield app


# --- helpers --------------------------------------------------------------------------------------------------


def _registered(mirror_dir: Path, path: str) -> RawFile:
    """A mirror file as the registry would list it (built here so other sources' YAML cannot break these tests)."""
    local = mirror_dir / SOURCE_ID / path
    return RawFile(path=path, sha256=sha256_of(local), bytes=local.stat().st_size, url=None, parser=None)


def _source_with(*raws: RawFile) -> Source:
    return Source(source_id=SOURCE_ID, publisher="The World Bank", dataset="WDI (test)", homepage="",
                  licence="CC BY 4.0", terms="", restrictions=None, vintage="test", update_cadence_days=31,
                  pillars=(), caveats=(), files=raws, entity_overrides={}, year_range=(1960, 2026))


def _live(server, mirror_dir: Path, path: str, *behaviours):
    """A one-file source whose URL is a local route with the given behaviours."""
    raw = _registered(mirror_dir, path)
    return _source_with(dataclasses.replace(raw, url=server.route("/" + path, *behaviours))), raw


def _bytes(mirror_dir: Path, path: str) -> bytes:
    return (mirror_dir / SOURCE_ID / path).read_bytes()


def _no_partials(raw_dir: Path) -> bool:
    return not [p for p in raw_dir.rglob("*.part")]


# --- live downloads -------------------------------------------------------------------------------------------


def test_download_verifies_and_skips_a_current_file(server, mirror_dir, tmp_path):
    source, raw = _live(server, mirror_dir, CSV, ok(_bytes(mirror_dir, CSV)))
    [fetched] = fetch_source(source, tmp_path, None, policy=FAST)
    assert fetched.local_path == tmp_path / SOURCE_ID / CSV
    assert sha256_of(fetched.local_path) == raw.sha256 and fetched.origin.startswith("http://127.0.0.1")
    fetch_source(source, tmp_path, None, policy=FAST)
    assert server.hits["/" + CSV] == 1  # the second run found the right bytes locally
    assert _no_partials(tmp_path)


def test_a_stale_local_file_is_replaced(server, mirror_dir, tmp_path):
    source, raw = _live(server, mirror_dir, SMALL, ok(_bytes(mirror_dir, SMALL)))
    dest = tmp_path / SOURCE_ID / SMALL
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"half a file")
    fetch_source(source, tmp_path, None, policy=FAST)
    assert sha256_of(dest) == raw.sha256


@pytest.mark.parametrize("flaky", [lambda b: status(500), lambda b: status(503), lambda b: reset,
                                   truncated, stall], ids=["500", "503", "reset", "truncated", "stall"])
def test_transient_failure_then_success_is_retried(server, mirror_dir, tmp_path, flaky):
    body = _bytes(mirror_dir, CSV)
    source, raw = _live(server, mirror_dir, CSV, flaky(body), ok(body))
    [fetched] = fetch_source(source, tmp_path, None, policy=FAST)
    assert sha256_of(fetched.local_path) == raw.sha256
    assert server.hits["/" + CSV] == 2
    assert _no_partials(tmp_path)


def test_persistent_500_is_bounded(server, mirror_dir, tmp_path):
    source, raw = _live(server, mirror_dir, SMALL, status(500))
    with pytest.raises(FetchError, match=r"after 3 attempts.*HTTP 500") as err:
        fetch_source(source, tmp_path, None, policy=FAST)
    assert server.hits["/" + SMALL] == FAST.attempts
    assert raw.path in str(err.value) and SOURCE_ID in str(err.value)
    assert not (tmp_path / SOURCE_ID / SMALL).exists() and _no_partials(tmp_path)


@pytest.mark.parametrize("code", [403, 404, 429])
def test_4xx_is_not_retried(server, mirror_dir, tmp_path, code):
    source, _ = _live(server, mirror_dir, SMALL, status(code))
    with pytest.raises(FetchError, match=f"HTTP {code}"):
        fetch_source(source, tmp_path, None, policy=FAST)
    assert server.hits["/" + SMALL] == 1


def test_stall_beyond_read_timeout_fails_in_bounded_time(server, mirror_dir, tmp_path):
    source, _ = _live(server, mirror_dir, CSV, stall(_bytes(mirror_dir, CSV)))
    started = time.monotonic()
    with pytest.raises(FetchError, match="ReadTimeout"):
        fetch_source(source, tmp_path, None, policy=dataclasses.replace(FAST, attempts=2))
    assert time.monotonic() - started < 3
    assert server.hits["/" + CSV] == 2 and _no_partials(tmp_path)


def test_trickle_beyond_total_timeout_fails(server, mirror_dir, tmp_path):
    source, _ = _live(server, mirror_dir, SMALL, trickle(_bytes(mirror_dir, SMALL)))
    with pytest.raises(FetchError, match="slower than"):
        fetch_source(source, tmp_path, None, policy=dataclasses.replace(FAST, attempts=1, total_timeout=0.2))


def test_persistent_truncation_fails(server, mirror_dir, tmp_path):
    source, _ = _live(server, mirror_dir, CSV, truncated(_bytes(mirror_dir, CSV)))
    with pytest.raises(FetchError, match="after 3 attempts"):
        fetch_source(source, tmp_path, None, policy=FAST)
    assert server.hits["/" + CSV] == 3 and _no_partials(tmp_path)


def test_redirects_are_followed(server, mirror_dir, tmp_path):
    server.route("/real.csv", ok(_bytes(mirror_dir, SMALL)))
    source, raw = _live(server, mirror_dir, SMALL, redirect("/real.csv"))
    [fetched] = fetch_source(source, tmp_path, None, policy=FAST)
    assert sha256_of(fetched.local_path) == raw.sha256


def test_redirect_loop_fails_fast(server, mirror_dir, tmp_path):
    source, _ = _live(server, mirror_dir, SMALL, redirect("/" + SMALL))
    with pytest.raises(FetchError, match="redirect loop"):
        fetch_source(source, tmp_path, None, policy=FAST)
    assert server.hits["/" + SMALL] == FAST.max_redirects + 1  # no retry on top


def test_redirect_to_plain_http_is_refused(server, mirror_dir, tmp_path):
    source, _ = _live(server, mirror_dir, SMALL, redirect("http://example.com/data.csv"))
    with pytest.raises(FetchError, match="only https"):
        fetch_source(source, tmp_path, None, policy=FAST)
    assert server.hits["/" + SMALL] == 1


def test_html_error_page_with_200_is_refused(server, mirror_dir, tmp_path):
    page = b"\n<!DOCTYPE html>\n<html><head><title>Service unavailable</title></head></html>"
    source, _ = _live(server, mirror_dir, CSV, ok(page))
    with pytest.raises(FetchError, match="HTML page") as err:
        fetch_source(source, tmp_path, None, policy=FAST)
    assert err.value.rule == "not_html" and CSV in str(err.value)
    assert server.hits["/" + CSV] == 1
    assert not (tmp_path / SOURCE_ID / CSV).exists() and _no_partials(tmp_path)


def test_changed_upstream_is_a_new_dated_snapshot_and_the_working_copy(server, mirror_dir, tmp_path, monkeypatch):
    """No registry edit: new bytes become data/raw/<source>/<vintage>/<path> with URL, time, validators, sha256 and
    size, and the working copy the staging step parses; fetching the same bytes again adds no snapshot."""
    from pipelines.sources import vintages

    monkeypatch.delenv(vintages.PINNED_ENV, raising=False)
    new_bytes = _bytes(mirror_dir, CSV) + b'"Narnia","NRN","2030","1.0"\n'
    new_sha = hashlib.sha256(new_bytes).hexdigest()

    def with_validators(h):
        h.send_response(200)
        h.send_header("Content-Length", str(len(new_bytes)))
        h.send_header("ETag", '"v2"')
        h.send_header("Last-Modified", "Wed, 02 Dec 2026 09:00:00 GMT")
        h.end_headers()
        h.wfile.write(new_bytes)

    source, raw = _live(server, mirror_dir, CSV, with_validators)
    fetched = fetch_source(source, tmp_path, None, policy=FAST)
    assert fetched[0].sha256 == new_sha and (tmp_path / SOURCE_ID / CSV).read_bytes() == new_bytes
    [snap] = vintages.snapshots(tmp_path, SOURCE_ID)
    assert snap.status == "candidate" and (snap.folder / CSV).read_bytes() == new_bytes
    assert snap.vintage[:4].isdigit() and snap.folder.parent == tmp_path / SOURCE_ID
    [meta] = snap.files
    assert meta["sha256"] == new_sha and meta["bytes"] == len(new_bytes) and meta["etag"] == '"v2"'
    assert meta["last_modified"].startswith("Wed, 02 Dec 2026") and meta["origin"].endswith(CSV)
    assert meta["registered_sha256"] == raw.sha256 and meta["retrieved_at"]
    assert vintages.accepted_sha256(SOURCE_ID, raw, tmp_path) == {raw.sha256, new_sha}
    # known validators: the next fetch asks conditionally; a 304 keeps the working copy and adds nothing
    source304, _ = _live(server, mirror_dir, CSV, lambda h: h.send_body(b"", code=304))
    fetch_source(source304, tmp_path, None, policy=FAST)
    assert len(vintages.snapshots(tmp_path, SOURCE_ID)) == 1 and (tmp_path / SOURCE_ID / CSV).read_bytes() == new_bytes
    assert _no_partials(tmp_path)


def test_pinned_refuses_a_changed_upstream_and_keeps_it_as_a_snapshot(server, mirror_dir, tmp_path, monkeypatch):
    from pipelines.sources import vintages

    monkeypatch.setenv(vintages.PINNED_ENV, "1")
    new_bytes = _bytes(mirror_dir, CSV) + b'"Narnia","NRN","2030","1.0"\n'
    new_sha = hashlib.sha256(new_bytes).hexdigest()
    source, raw = _live(server, mirror_dir, CSV, ok(new_bytes))
    current = tmp_path / SOURCE_ID / CSV
    current.parent.mkdir(parents=True)
    current.write_bytes(b"the file we had\n")
    with pytest.raises(ChecksumMismatch) as err:
        fetch_source(source, tmp_path, None, policy=FAST)
    message = str(err.value)
    assert "--pinned" in message and CSV in message and raw.sha256 in message and new_sha in message
    assert current.read_bytes() == b"the file we had\n"
    [snap] = vintages.snapshots(tmp_path, SOURCE_ID)
    assert snap.status == "refused" and (snap.folder / CSV).read_bytes() == new_bytes
    assert _no_partials(tmp_path)


@pytest.mark.parametrize("announce", [False, True], ids=["streamed", "content-length"])
def test_oversize_body_is_aborted(server, mirror_dir, tmp_path, announce):
    raw = _registered(mirror_dir, SMALL)
    body = endless if not announce else (lambda h: h.send_body(b"", length=max_download_bytes(raw) + 1))
    source, _ = _live(server, mirror_dir, SMALL, body)
    with pytest.raises(FetchError, match=str(max_download_bytes(raw))) as err:
        fetch_source(source, tmp_path, None, policy=FAST)
    assert err.value.rule == "max_size" and server.hits["/" + SMALL] == 1
    assert not (tmp_path / SOURCE_ID / SMALL).exists() and _no_partials(tmp_path)


def test_plain_http_needs_explicit_permission(server, mirror_dir, tmp_path, monkeypatch):
    source, _ = _live(server, mirror_dir, SMALL, ok(_bytes(mirror_dir, SMALL)))
    default = dataclasses.replace(FAST, allow_local_http=None)
    monkeypatch.delenv("AI_READINESS_ALLOW_LOCAL_HTTP", raising=False)
    with pytest.raises(FetchError, match="only https"):
        fetch_source(source, tmp_path, None, policy=default)
    assert server.hits["/" + SMALL] == 0
    monkeypatch.setenv("AI_READINESS_ALLOW_LOCAL_HTTP", "1")
    fetch_source(source, tmp_path, None, policy=default)
    assert server.hits["/" + SMALL] == 1


def test_plain_http_to_a_remote_host_is_never_allowed(mirror_dir, tmp_path):
    raw = dataclasses.replace(_registered(mirror_dir, SMALL), url="http://example.com/data.csv")
    with pytest.raises(FetchError, match="only https"):
        fetch_source(_source_with(raw), tmp_path, None, policy=FAST)


def test_no_network_is_one_clear_line(mirror_dir, tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    raw = dataclasses.replace(_registered(mirror_dir, SMALL), url=f"http://127.0.0.1:{port}/data.csv")
    with pytest.raises(FetchError) as err:
        fetch_source(_source_with(raw), tmp_path, None, policy=dataclasses.replace(FAST, attempts=2))
    message = str(err.value)
    assert "AI_READINESS_MIRROR" in message and "cannot reach" in message and "\n" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_an_unresolvable_host_fails_at_once_and_short_circuits_its_other_files(mirror_dir, tmp_path):
    """A DNS failure is not retried, and the host's other files in the same run fail without a request."""
    from pipelines.sources.fetch import forget_unreachable_hosts

    forget_unreachable_hosts()
    raws = [dataclasses.replace(_registered(mirror_dir, path), url=f"https://no-such-host.invalid/{path}")
            for path in (SMALL, CSV)]
    started = time.monotonic()
    with pytest.raises(FetchError) as first:
        fetch_source(_source_with(raws[0]), tmp_path, None, policy=dataclasses.replace(FAST, attempts=4,
                                                                                        backoff_seconds=1))
    with pytest.raises(FetchError) as second:
        fetch_source(_source_with(raws[1]), tmp_path, None, policy=FAST)
    assert time.monotonic() - started < 3  # no back-off: 4 attempts with 1 s waits would take 7 s
    assert first.value.rule == second.value.rule == "network"
    assert "no-such-host.invalid" in str(first.value) and "AI_READINESS_MIRROR" in str(first.value)
    assert "earlier in this run" in str(second.value) and "--pinned" in str(second.value)
    forget_unreachable_hosts()


def test_a_closed_port_is_not_retried(mirror_dir, tmp_path):
    from pipelines.sources.fetch import forget_unreachable_hosts, unreachable_hosts

    forget_unreachable_hosts()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/data.csv"
    assert list(unreachable_hosts([url], timeout=1)) == [f"127.0.0.1:{port}"]
    with serving() as app:  # a listening host is reachable
        assert unreachable_hosts([app.url("/x")], timeout=1) == {}
    raw = dataclasses.replace(_registered(mirror_dir, SMALL), url=url)
    with pytest.raises(FetchError, match="earlier in this run"):  # marked by the probe: no connection at all
        fetch_source(_source_with(raw), tmp_path, None, policy=FAST)
    forget_unreachable_hosts()


def test_a_file_without_url_needs_the_mirror(mirror_dir, tmp_path):
    raw = dataclasses.replace(_registered(mirror_dir, SMALL), url=None)
    with pytest.raises(FetchError, match="AI_READINESS_MIRROR"):
        fetch_source(_source_with(raw), tmp_path, None, policy=FAST)


# --- the offline mirror ---------------------------------------------------------------------------------------


def _copy_mirror(mirror_dir: Path, tmp_path: Path, *paths: str) -> Path:
    mirror = tmp_path / "mirror"
    for path in paths:
        dest = mirror / SOURCE_ID / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror_dir / SOURCE_ID / path, dest)
    return mirror


def test_mirror_copies_and_verifies(mirror_dir, tmp_path):
    mirror = _copy_mirror(mirror_dir, tmp_path, SMALL, CSV)
    source = _source_with(_registered(mirror_dir, SMALL), _registered(mirror_dir, CSV))
    fetched = fetch_source(source, tmp_path / "raw", mirror)
    assert [f.sha256 for f in fetched] == [sha256_of(f.local_path) for f in fetched]


def test_pinned_mirror_checksum_mismatch_names_file_and_both_checksums(mirror_dir, tmp_path, monkeypatch):
    from pipelines.sources import vintages

    monkeypatch.setenv(vintages.PINNED_ENV, "1")
    mirror = _copy_mirror(mirror_dir, tmp_path, CSV)
    corrupt = mirror / SOURCE_ID / CSV
    corrupt.write_bytes(corrupt.read_bytes().replace(b"1", b"7", 1))
    raw = _registered(mirror_dir, CSV)
    with pytest.raises(ChecksumMismatch) as err:
        fetch_source(_source_with(raw), tmp_path / "raw", mirror)
    message = str(err.value)
    assert CSV in message and raw.sha256 in message and sha256_of(corrupt) in message
    assert not (tmp_path / "raw" / SOURCE_ID / CSV).exists()
    assert [s.status for s in vintages.snapshots(tmp_path / "raw", SOURCE_ID)] == ["refused"]


def test_a_changed_mirror_file_is_a_new_vintage(mirror_dir, tmp_path, monkeypatch):
    """Offline, a changed mirror file is what the publisher serves now: a snapshot and the working copy; the
    mirror restored to the registered bytes makes them the working copy again."""
    from pipelines.sources import vintages

    monkeypatch.delenv(vintages.PINNED_ENV, raising=False)
    mirror = _copy_mirror(mirror_dir, tmp_path, CSV)
    changed = mirror / SOURCE_ID / CSV
    original = changed.read_bytes()
    changed.write_bytes(original.replace(b"1", b"7", 1))
    raw = _registered(mirror_dir, CSV)
    [fetched] = fetch_source(_source_with(raw), tmp_path / "raw", mirror)
    assert fetched.sha256 == sha256_of(changed) != raw.sha256
    assert (tmp_path / "raw" / SOURCE_ID / CSV).read_bytes() == changed.read_bytes()
    [snap] = vintages.snapshots(tmp_path / "raw", SOURCE_ID)
    assert snap.files[0]["origin"] == f"mirror:{changed}"
    fetch_source(_source_with(raw), tmp_path / "raw", mirror)  # unchanged since: no second snapshot
    assert len(vintages.snapshots(tmp_path / "raw", SOURCE_ID)) == 1
    changed.write_bytes(original)
    [again] = fetch_source(_source_with(raw), tmp_path / "raw", mirror)
    assert again.sha256 == raw.sha256 and (tmp_path / "raw" / SOURCE_ID / CSV).read_bytes() == original
    assert vintages.accepted_sha256(SOURCE_ID, raw, tmp_path / "raw") == {raw.sha256}


def test_missing_mirror_file_is_named(mirror_dir, tmp_path):
    mirror = _copy_mirror(mirror_dir, tmp_path, SMALL)
    with pytest.raises(FetchError, match="not in the offline mirror") as err:
        fetch_source(_source_with(_registered(mirror_dir, SMALL), _registered(mirror_dir, CSV)), tmp_path, mirror)
    assert CSV in str(err.value)


# --- safe zip extraction --------------------------------------------------------------------------------------


def _zip(path: Path, members: dict, compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)  # a str name keeps its path verbatim and takes the zip's compression
    return path


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_normal_zip_extracts_atomically(mirror_dir, tmp_path):
    csv = _bytes(mirror_dir, CSV)
    archive = _zip(tmp_path / "API_IT.NET.SECR.P6_DS2_en_csv_v2_1.zip",
                   {"data/": b"", "data/API.csv": csv, "Metadata_Country.csv": b"Country Code,Region\n"})
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.csv").write_text("from an older vintage")
    files = safe_extract_zip(archive, target, max_total_bytes=1 << 20, max_members=10, max_ratio=100)
    assert [p.relative_to(target).as_posix() for p in files] == ["Metadata_Country.csv", "data/API.csv"]
    assert (target / "data" / "API.csv").read_bytes() == csv
    assert not (target / "stale.csv").exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/abs/evil.txt", "C:/evil.txt",
                                  "..\\evil.txt"])
def test_zip_path_traversal_is_refused(tmp_path, name):
    archive = _zip(tmp_path / "evil.zip", {"ok.txt": b"fine", name: b"pwned"})
    target = tmp_path / "deep" / "out"
    with pytest.raises(FetchError, match=r"absolute path|'\.\.' component") as err:
        safe_extract_zip(archive, target, max_total_bytes=1 << 20, max_members=10, max_ratio=100)
    assert err.value.rule == "zip_path_traversal" and "evil.zip" in str(err.value)
    assert not target.exists() and not list(tmp_path.rglob("evil.txt")) and _leftovers(target.parent) == []


def test_zip_symlink_member_is_refused(tmp_path):
    link = zipfile.ZipInfo("innocent.csv")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _zip(tmp_path / "link.zip", {link: b"/etc/passwd"})
    with pytest.raises(FetchError, match="symlink"):
        safe_extract_zip(archive, tmp_path / "out", max_total_bytes=1 << 20, max_members=10, max_ratio=100)
    assert not (tmp_path / "out").exists()


def test_zip_bomb_ratio_is_refused(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"zeros.csv": bytes(20 << 20)})  # 20 MiB of zeros, ~20 kB zipped
    with pytest.raises(FetchError, match="zip bomb") as err:
        safe_extract_zip(archive, tmp_path / "out", max_total_bytes=1 << 30, max_members=10, max_ratio=100)
    assert err.value.rule == "zip_bomb" and not (tmp_path / "out").exists()


def test_zip_total_size_and_member_count_are_bounded(tmp_path):
    archive = _zip(tmp_path / "big.zip", {f"f{i}.csv": bytes(range(256)) * 20 for i in range(5)})
    with pytest.raises(FetchError, match="limit 10000") as err:
        safe_extract_zip(archive, tmp_path / "out", max_total_bytes=10_000, max_members=10, max_ratio=100)
    assert err.value.rule == "zip_max_total_bytes"
    with pytest.raises(FetchError, match="5 members, limit 3"):
        safe_extract_zip(archive, tmp_path / "out", max_total_bytes=1 << 20, max_members=3, max_ratio=100)
    assert not (tmp_path / "out").exists()


def test_zip_lying_size_header_is_refused(tmp_path):
    """Headers claim 10 bytes (passes every declared check); the real member is 64 kB."""
    data = bytes(range(256)) * 256
    raw = bytearray(_zip(tmp_path / "honest.zip", {"liar.csv": data}).read_bytes())
    central = raw.index(b"PK\x01\x02")
    for offset in (22, central + 24):  # uncompressed size in the local header and the central directory
        assert struct.unpack_from("<I", raw, offset)[0] == len(data)
        struct.pack_into("<I", raw, offset, 10)
    archive = tmp_path / "liar.zip"
    archive.write_bytes(bytes(raw))
    with pytest.raises(FetchError) as err:
        safe_extract_zip(archive, tmp_path / "out", max_total_bytes=100, max_members=10, max_ratio=100)
    assert err.value.rule in {"zip_lying_header", "zip_corrupt"}
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_not_a_zip_is_refused(tmp_path):
    archive = tmp_path / "page.zip"
    archive.write_bytes(b"<!doctype html><html>Not found</html>")
    with pytest.raises(FetchError, match="corrupt archive"):
        safe_extract_zip(archive, tmp_path / "out", max_total_bytes=1 << 20, max_members=10, max_ratio=100)
