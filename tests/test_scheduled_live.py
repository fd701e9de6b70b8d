"""The scheduled pipeline against a loopback "publisher" (127.0.0.1), end to end: a first live build from
publisher-format responses built from the mirror files, a weekly upstream check that sees nothing new (conditional
requests answered 304), then a second vintage in which one of Japan's values is revised and a new year appears.
The weekly check (run with Dagster's build_schedule_context in a fresh process, tests/scheduled_tick.py) detects
it, the run it requests snapshots, validates and publishes it, and mart_release_diff attributes Japan's move to
that revision and that new period, with lineage. A corrupted second vintage (one Japan value x10) is held instead:
the run fails naming source, file, row and rule, the snapshot is listed as held, the release stays byte-identical,
and `ai-readiness vintages accept` then lets a person release it as a true revision. A vintage that does not parse
is held by the weekly run the same way.

The first live build is made once per module and copied into each test's folder.

Two sources keep it short (AI_READINESS_SOURCES=owid_ai,worldbank_wdi, enough for a composite score): OWID grapher
CSVs at their live endpoints, the World Bank files as raw files at their pinned URLs (a temp registry marks WDI
`live: none`, so the weekly check leaves it alone and only OWID and its dependants rerun).
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import PROJECT_ROOT, release_bytes

OWID, WDI = "owid_ai", "worldbank_wdi"
BILLS = "raw/cumulative-number-artificial-intelligence-bills-passed.csv"  # ai_bills_passed, no denominator
PUBLICATIONS = "raw/annual-scholarly-publications-on-artificial-intelligence.csv"  # ai_publications_per_million
BILLS_JAPAN = b"Japan,JPN,2023,4\n"
PUBLICATIONS_JAPAN_LAST = b"Japan,JPN,2023,10908\n"


class _Publisher(BaseHTTPRequestHandler):
    """Serves app.files[path]; ETag (sha256 of the body) and Last-Modified, 304 to a matching If-None-Match."""

    def do_HEAD(self):  # noqa: N802 (http.server API)
        self._answer(body=False)

    def do_GET(self):  # noqa: N802
        self._answer(body=True)

    def _answer(self, body: bool):
        app = self.server.app
        app.requests.append((self.command, self.path, self.headers.get("If-None-Match")))
        content = app.files.get(self.path)
        if content is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        etag = f'"{hashlib.sha256(content).hexdigest()[:20]}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(app.modified[self.path], usegmt=True))
        self.end_headers()
        if body:
            self.wfile.write(content)

    def log_message(self, *args):
        pass


class _App:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.modified: dict[str, float] = {}
        self.requests: list[tuple] = []

    def serve(self, path: str, content: bytes, modified: float = 1.7e9):
        self.files[path], self.modified[path] = content, modified


@contextlib.contextmanager
def publishing():
    """The _Publisher on a free 127.0.0.1 port, in a thread; yields the server (its .app holds the files)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Publisher)
    server.app = _App()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def publisher():
    with publishing() as server:
        yield server


def _registry(root: Path, base: str, mirror_dir: Path, app: _App) -> Path:
    """config/sources with OWID's live URLs and WDI's pinned URLs on the loopback publisher."""
    registry = root / "registry"
    registry.mkdir()
    for path in (PROJECT_ROOT / "config" / "sources").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        sid = doc["source_id"]
        if sid == OWID:
            for file_path, spec in doc["live"]["files"].items():
                route = f"/grapher/{Path(file_path).name}"
                spec["url"] = base + route
                app.serve(route, (mirror_dir / OWID / file_path).read_bytes())
            for entry in doc["files"]:  # files without a live endpoint come from their (pinned) raw URL
                if entry["path"] not in doc["live"]["files"]:
                    route = f"/raw/{OWID}/{entry['path']}"
                    entry["url"] = base + route
                    app.serve(route, (mirror_dir / OWID / entry["path"]).read_bytes())
        elif sid == WDI:
            doc["live"] = {"status": "none", "reason": "test: World Bank files from their pinned raw URLs"}
            for entry in doc["files"]:
                route = f"/raw/{WDI}/{entry['path']}"
                entry["url"] = base + route
                app.serve(route, (mirror_dir / WDI / entry["path"]).read_bytes())
        (registry / path.name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return registry


def _env(root: Path, registry: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "AI_READINESS_MIRROR")}
    env.update({"AI_READINESS_DATA_DIR": str(root / "data"), "AI_READINESS_REGISTRY_DIR": str(registry),
                "AI_READINESS_SOURCES": f"{OWID},{WDI}", "AI_READINESS_ALLOW_LOCAL_HTTP": "1",
                "AI_READINESS_LOG_LEVEL": "WARNING", "HOME": str(root)})
    return env


def _cli(env: dict, *argv: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *argv], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def first_live_build(publisher, mirror_dir, tmp_path_factory):
    """The first live build (OWID from its live endpoints, WDI from its pinned URLs), made once: (its folder, the
    registry, the files the publisher served)."""
    app = publisher.app
    root = tmp_path_factory.mktemp("live_first")
    registry = _registry(root, f"http://127.0.0.1:{publisher.server_address[1]}", mirror_dir, app)
    first = _cli(_env(root, registry), "build")
    assert first.returncode == 0, first.stderr[-4000:]
    assert any(path.startswith("/grapher/") for _, path, _ in app.requests)
    return root, registry, dict(app.files)


@pytest.fixture()
def live_workspace(first_live_build, publisher, tmp_path):
    """A copy of the first build's data folder, and the publisher serving what it served then: (env, data dir)."""
    root, registry, served = first_live_build
    shutil.copytree(root / "data", tmp_path / "data", symlinks=True)
    publisher.app.files = dict(served)
    publisher.app.requests.clear()
    return _env(tmp_path, registry), tmp_path / "data"


def _tick(env: dict) -> dict:
    result = subprocess.run([sys.executable, "-m", "tests.scheduled_tick"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _query(data_dir: Path, sql: str):
    with duckdb.connect(str(data_dir / "marts" / "ai_readiness.duckdb"), read_only=True) as connection:
        return connection.execute(sql).df()


def test_the_weekly_check_publishes_a_new_vintage_and_the_diff_explains_japans_move(publisher, live_workspace):
    app = publisher.app
    env, data_dir = live_workspace
    first_release = (data_dir / "marts" / "current").resolve().name

    # nothing new at the publisher: every OWID endpoint answers the conditional request with 304, no run
    quiet = _tick(env)
    assert "skipped" in quiet, quiet
    heads = [r for r in app.requests if r[0] == "HEAD"]
    assert heads and all(r[1].startswith("/grapher/") and r[2] for r in heads)  # If-None-Match sent, WDI not probed
    assert not any(r[0] == "GET" for r in app.requests)

    # the second vintage: Japan's bills count revised, a new year of Japan's AI publications
    bills_route, publications_route = f"/grapher/{Path(BILLS).name}", f"/grapher/{Path(PUBLICATIONS).name}"
    bills, publications = app.files[bills_route], app.files[publications_route]
    assert bills.count(BILLS_JAPAN) == 1 and publications.count(PUBLICATIONS_JAPAN_LAST) == 1
    app.serve(bills_route, bills.replace(BILLS_JAPAN, b"Japan,JPN,2023,6\n"), modified=1.8e9)
    app.serve(publications_route, publications.replace(
        PUBLICATIONS_JAPAN_LAST, PUBLICATIONS_JAPAN_LAST + b"Japan,JPN,2024,11500\n"), modified=1.8e9)
    new_publications_row = publications[: publications.index(PUBLICATIONS_JAPAN_LAST)].count(b"\n") + 2

    ran = _tick(env)

    assert ran.get("changed") == [OWID], ran
    assert ran["success"] and ran["published"], ran
    assert f"raw_{OWID}" in ran["assets"] and f"raw_{WDI}" not in ran["assets"]  # the changed source and dependants
    release = (data_dir / "marts" / "current").resolve().name
    assert release != first_release

    # snapshots of the new vintage: both changed files, with the publisher's validators, published
    listed = _cli(env, "vintages", OWID)
    assert listed.returncode == 0, listed.stderr
    for path in (BILLS, PUBLICATIONS):
        [line] = [ln for ln in listed.stdout.splitlines() if path in ln]
        assert "published" in line and release in line

    diff = _query(data_dir, "SELECT * FROM mart_release_diff")
    assert set(diff["old_release"]) == {first_release}
    cells = diff[(diff["row_kind"] == "cell") & (diff["iso3"] == "JPN")]
    [revision] = cells[cells["indicator_key"] == "ai_bills_passed"].to_dict("records")
    assert revision["change_type"] == "data_revision"
    assert (revision["old_value"], revision["new_value"]) == (4, 6)
    assert revision["old_period"] == revision["new_period"] == "2023"
    assert revision["new_raw_file"] == f"{OWID}/{BILLS}"
    assert revision["new_raw_sha256"] == hashlib.sha256(app.files[bills_route]).hexdigest()
    [period] = cells[cells["indicator_key"] == "ai_publications_per_million"].to_dict("records")
    assert period["change_type"] == "new_period"
    assert (period["old_period"], period["new_period"]) == ("2023", "2024")
    assert period["new_raw_file"] == f"{OWID}/{PUBLICATIONS}" and period["new_raw_row"] == str(new_publications_row)
    assert set(cells["indicator_key"]) == {"ai_bills_passed", "ai_publications_per_million"}  # nothing else moved

    # Japan's composite moved, and the attribution rows add up to that move: revisions and new periods only
    attribution = diff[diff["row_kind"] == "attribution"]
    composite = diff[(diff["row_kind"] == "score") & (diff["level"] == "composite")]
    assert len(composite) == 1 and composite["score_delta"].iloc[0] != 0
    for level, group in attribution.groupby("level"):
        score = diff[(diff["row_kind"] == "score") & (diff["level"] == level)].iloc[0]
        assert group["contribution"].sum() == pytest.approx(score["score_delta"], abs=1e-9)
    moved = attribution[(attribution["level"] == "composite") & (attribution["contribution"].abs() > 1e-12)]
    assert set(moved["change_type"]) == {"data_revision", "new_period"}, moved[["change_type", "contribution"]]


def _serve_japan_bills(app: _App, line: bytes) -> tuple[int, bytes]:
    """The second vintage: the bills file with Japan's 2023 line replaced; (that line's 1-based row, the file)."""
    route = f"/grapher/{Path(BILLS).name}"
    bills = app.files[route]
    changed = bills.replace(BILLS_JAPAN, line)
    app.serve(route, changed, modified=1.8e9)
    return bills[: bills.index(BILLS_JAPAN)].count(b"\n") + 1, changed


def test_a_corrupted_vintage_is_held_by_the_weekly_run_until_a_person_accepts_it(publisher, live_workspace):
    env, data_dir = live_workspace
    before = release_bytes(data_dir)
    japan_row, corrupted = _serve_japan_bills(publisher.app, b"Japan,JPN,2023,40\n")  # x10: a unit error

    ran = _tick(env)

    assert ran.get("changed") == [OWID], ran
    assert not ran["success"] and not ran["published"], ran
    [line] = [ln for ln in ran["failures"] if "rule=release_value_moved " in ln]
    assert f"source={OWID}" in line and f"file={OWID}/{BILLS}" in line and f"row={japan_row}" in line, line
    assert "value=40.0" in line and "last_value=4.0" in line and "JPN 2023" in line, line
    assert release_bytes(data_dir) == before  # the last good release, byte for byte

    # the snapshot is kept, held with the rule, and says how to release it
    listed = _cli(env, "vintages", OWID)
    [held] = [ln for ln in listed.stdout.splitlines() if BILLS in ln]
    assert " held (in use)" in held and "release_value_moved" in held, held
    vintage = held.split(" ", 1)[0].removeprefix(f"{OWID}/")
    assert f"ai-readiness vintages accept {OWID} {vintage}" in line
    snapshot = data_dir / "raw" / OWID / vintage
    assert (snapshot / BILLS).read_bytes() == corrupted

    # a person who checked with the publisher releases it: the next build publishes, the move now a WARN
    refused = _cli(env, "vintages", "accept", OWID, "2000-01-01T000000Z", "--reason", "checked")
    assert refused.returncode == 2 and "no snapshot" in refused.stderr
    accepted = _cli(env, "vintages", "accept", OWID, vintage, "--reason", "OWID confirmed the revision")
    assert accepted.returncode == 0, accepted.stderr
    assert "accepted" in _cli(env, "vintages", OWID).stdout
    released = _cli(env, "build")
    assert released.returncode == 0, released.stderr[-4000:]
    assert "rule=release_value_moved_accepted" in released.stderr
    assert release_bytes(data_dir)["current"] != before["current"]
    fact = _query(data_dir, "SELECT value, raw_row FROM fct_indicator_values WHERE iso3 = 'JPN' "
                            f"AND raw_file = '{OWID}/{BILLS}' AND period = '2023'")
    assert fact.to_dict("records") == [{"value": 40.0, "raw_row": str(japan_row)}]
    [published] = [ln for ln in _cli(env, "vintages", OWID).stdout.splitlines() if BILLS in ln]
    assert " published" in published and "OWID confirmed the revision" in published


def test_a_vintage_that_does_not_parse_is_held_by_the_weekly_run(publisher, live_workspace):
    env, data_dir = live_workspace
    before = release_bytes(data_dir)
    japan_row, _ = _serve_japan_bills(publisher.app, b"Japan,JPN,2023,four\n")

    ran = _tick(env)

    assert not ran["success"] and not ran["published"], ran
    [line] = [ln for ln in ran["failures"] if "rule=numeric_value" in ln]
    assert f"stg_{OWID}" in line and f"source={OWID}" in line and f"row={japan_row}" in line, line
    assert release_bytes(data_dir) == before
    [held] = [ln for ln in _cli(env, "vintages", OWID).stdout.splitlines() if BILLS in ln]
    assert " held (in use)" in held and "rule=numeric_value" in held, held
