"""The Dagster UI and the HTML report as a user sees them: dagster-webserver started for the project on 127.0.0.1
(its GraphQL answers must match the definitions), and headless Chromium screenshots of the asset graph and report.

Chromium is Debian's `chromium` package (.ci/setup installs it); without it the browser tests skip.
Set AI_READINESS_SCREENSHOT_DIR to keep the screenshots (default: pytest's temp dir)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

READY_TIMEOUT = 60
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (apt-get install -y chromium; .ci/setup does it in CI)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert "errors" not in body, body["errors"]
    return body["data"]


def _location_loaded(url: str) -> bool:
    data = _graphql(url, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
    entries = data["workspaceOrError"]["locationEntries"]
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    """`dagster-webserver` for the project (pyproject's [tool.dagster]), a throwaway DAGSTER_HOME, telemetry off."""
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    log = (home / "webserver.log").open("w")
    env = {**os.environ, "DAGSTER_HOME": str(home), "AI_READINESS_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    webserver_bin = Path(sys.executable).with_name("dagster-webserver")
    process = subprocess.Popen([str(webserver_bin), "-h", "127.0.0.1", "-p", str(port)], cwd=PROJECT_ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"dagster-webserver exited ({process.returncode}):\n{(home / 'webserver.log').read_text()[-3000:]}")
            try:
                if _location_loaded(url):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver not ready in {READY_TIMEOUT}s:\n{(home / 'webserver.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        # The webserver starts a code server child: stop the whole process group this test started.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()


@pytest.fixture(scope="module")
def definitions():
    from pipelines.definitions import defs

    return defs()


UI_QUERY = """{
  assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name } } } }
  repositoriesOrError { ... on RepositoryConnection { nodes {
    location { name } schedules { name cronSchedule executionTimezone } sensors { name } } } }
}"""


def test_webserver_serves_exactly_the_definitions(webserver, definitions):
    data = _graphql(webserver, UI_QUERY)
    graph = definitions.resolve_asset_graph()
    served_assets = {"/".join(n["assetKey"]["path"]) for n in data["assetNodes"]}
    assert served_assets == {k.to_user_string() for k in graph.get_all_asset_keys()}
    served_checks = {("/".join(n["assetKey"]["path"]), c["name"])
                     for n in data["assetNodes"] for c in n["assetChecksOrError"]["checks"]}
    assert served_checks == {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    (repository,) = data["repositoriesOrError"]["nodes"]
    assert repository["location"]["name"] == "ai_readiness"  # pyproject.toml [tool.dagster]
    assert {(s["name"], s["cronSchedule"], s["executionTimezone"]) for s in repository["schedules"]} == {
        (s.name, s.cron_schedule, s.execution_timezone) for s in definitions.schedules}
    assert {s["name"] for s in repository["sensors"]} == {s.name for s in definitions.sensors}


# --- headless Chromium -------------------------------------------------------------------------------------------


def _chromium(tmp_path: Path, *args: str, budget_ms: int = 5000) -> subprocess.CompletedProcess:
    """One headless Chromium run for an offline machine: no network chatter, a throwaway profile."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
             "--window-size=1600,1000", f"--virtual-time-budget={budget_ms}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=60)


def _screenshot_dir(tmp_path: Path) -> Path:
    path = Path(os.environ.get("AI_READINESS_SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def assert_is_a_picture(png: Path, min_bytes: int = 20_000) -> None:
    """A real screenshot: a PNG of some size whose pixels are not all one colour."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= min_bytes, (png, len(data))
    try:
        from PIL import Image
    except ImportError:  # without Pillow: a one-colour image's unfiltered scanlines hold only a few byte values
        chunks, offset = [], 8
        while offset < len(data):
            length, kind = struct.unpack(">I4s", data[offset:offset + 8])
            if kind == b"IDAT":
                chunks.append(data[offset + 8:offset + 8 + length])
            offset += 12 + length
        assert len(set(zlib.decompress(b"".join(chunks)))) > 32, f"{png} looks blank"
    else:
        with Image.open(png) as image:
            assert image.convert("RGB").getextrema() != ((255, 255), (255, 255), (255, 255)), f"{png} is blank"
            assert len(image.convert("RGB").getcolors(1 << 24)) > 8, f"{png} looks blank"


@needs_chromium
def test_asset_graph_page_renders(webserver, tmp_path):
    _graphql(webserver, "mutation { setNuxSeen }")  # the first-visit "join the community" dialog would cover it
    png = _screenshot_dir(tmp_path) / "asset_graph.png"
    result = _chromium(tmp_path, f"--screenshot={png}", f"{webserver}/asset-groups", budget_ms=20000)
    assert png.exists(), result.stderr[-2000:]
    assert_is_a_picture(png)


@needs_chromium
def test_report_renders_offline_without_console_messages(report_file, tmp_path):
    from pipelines.publish.report.build import load_report_config

    result = _chromium(tmp_path, "--dump-dom", report_file.as_uri())
    dom = result.stdout
    for heading in ("Composite ranking", "against each peer group", "Trends:", "Concordance with published indices",
                    "Sources and caveats"):
        assert heading in dom, heading
    assert dom.count("<svg") >= 2 + len(load_report_config()["trend_indicators"])  # composite, ≥1 group, trends
    assert "CONSOLE" not in result.stderr, [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    png = _screenshot_dir(tmp_path) / "report.png"
    _chromium(tmp_path, f"--screenshot={png}", report_file.as_uri())
    assert_is_a_picture(png)
