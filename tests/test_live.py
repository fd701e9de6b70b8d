"""Live mode against a loopback "publisher" (127.0.0.1) serving publisher-format responses built from the mirror
files: the World Bank API v2 bulk CSV zip, OWID grapher CSVs. The registry's live sections point at the publishers'
own endpoints; format adapters turn what they serve into the pinned layout, so identical data is no new vintage and
revised data is one; --pinned fetches the pinned URLs only."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path

import pytest

from pipelines.sources import vintages
from pipelines.sources.adapters import worldbank_wide_to_long
from pipelines.sources.fetch import HttpPolicy, fetch_source, sha256_of
from pipelines.sources.registry import load_registry
from tests.test_fetch import ok, serving

FAST = HttpPolicy(connect_timeout=1.0, read_timeout=1.0, total_timeout=10.0, attempts=2, backoff_seconds=0.01,
                  backoff_max_seconds=0.05, allow_local_http=True)
ICT = "worldbank_wdi_ict_exports"
PINNED_COMMIT_URL = re.compile(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/")


@pytest.fixture(autouse=True)
def _not_pinned(monkeypatch):
    monkeypatch.delenv(vintages.PINNED_ENV, raising=False)


def _wb_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _pointed_at(source, server, route: str, body_for):
    """The source with every live URL replaced by a route of the loopback publisher."""
    files = []
    for raw in source.files:
        if raw.live_url:
            path = f"/{route}/{raw.path}"
            files.append(dataclasses.replace(raw, live_url=server.route(path, body_for(raw))))
        else:
            files.append(raw)
    return dataclasses.replace(source, files=tuple(files))


def test_every_source_has_a_live_section_and_no_live_url_is_commit_pinned():
    registry = load_registry()
    assert len(registry) == 19
    for source in registry.values():
        assert source.live_status in ("live", "none")
        if source.live_status == "none":
            assert source.live_reason and not any(f.live_url for f in source.files), source.source_id
            continue
        live = [f for f in source.files if f.live_url]
        assert live and source.live_endpoint, source.source_id
        for raw in live:
            assert raw.live_url.startswith("https://") and not PINNED_COMMIT_URL.match(raw.live_url), raw.live_url
            if "raw.githubusercontent.com" in raw.live_url:  # only the publishers' own repositories, main branch
                assert re.match(r"https://raw\.githubusercontent\.com/(github/innovationgraph|microsoft/"
                                r"ai-diffusion-report)/main/", raw.live_url), raw.live_url
    wdi = registry["worldbank_wdi"]
    data_files = [f for f in wdi.files if f.parser]
    assert all(f.live_url.startswith("https://api.worldbank.org/v2/en/indicator/") and
               f.live_url.endswith("?downloadformat=csv") for f in data_files)
    assert {f.live_adapter for f in data_files} == {"worldbank_zip_to_long", "worldbank_zip_member"}


def test_world_bank_wide_csv_becomes_the_datahub_long_layout():
    wide = ('\ufeff"Data Source","World Development Indicators",\n\n"Last Updated Date","2026-07-01",\n\n'
            '"Country Name","Country Code","Indicator Name","Indicator Code","2022","2023","2024",\n'
            '"Japan","JPN","R&D","GB.XPD.RSDV.GD.ZS","3.4","3.44125","",\n'
            '"Korea, Rep.","KOR","R&D","GB.XPD.RSDV.GD.ZS","","4.9","5.0",\n').encode("utf-8")
    long = worldbank_wide_to_long(wide, source_id="worldbank_wdi", file="x")
    assert long == (b"Country Name,Country Code,Year,Value\r\nJapan,JPN,2022,3.4\r\nJapan,JPN,2023,3.44125\r\n"
                    b'"Korea, Rep.",KOR,2023,4.9\r\n"Korea, Rep.",KOR,2024,5.0\r\n')


def test_the_world_bank_zip_gives_the_registered_bytes_then_a_revision_is_a_new_vintage(mirror_dir, tmp_path):
    source = load_registry()[ICT]
    members = {Path(raw.path).name: (mirror_dir / ICT / raw.path).read_bytes() for raw in source.files}
    api = next(name for name in members if name.startswith("API_"))
    with serving() as server:
        served = {"zip": _wb_zip(members)}
        live = _pointed_at(source, server, "v2/en/indicator/BX.GSR.CCIS.CD", lambda raw: lambda h: ok(served["zip"])(h))
        fetched = fetch_source(live, tmp_path, None, policy=FAST)
        assert [f.sha256 for f in fetched] == [raw.sha256 for raw in source.files]  # same data: same bytes
        assert vintages.snapshots(tmp_path, ICT) == []

        revised = members[api].replace(b'"Japan","JPN",', b'"Japan","JPN",', 1)
        line = next(ln for ln in revised.split(b"\n") if ln.startswith(b'"Japan","JPN"'))
        fields = line.split(b",")
        fields[-2] = b'"1.5e+10"'  # the 2024 value (the trailing comma leaves an empty last field)
        revised = revised.replace(line, b",".join(fields))
        served["zip"] = _wb_zip({**members, api: revised})
        fetched = fetch_source(live, tmp_path, None, policy=FAST)
    api_raw = next(raw for raw in source.files if raw.path.endswith(api))
    [snap] = vintages.snapshots(tmp_path, ICT)
    [meta] = snap.files
    assert meta["path"] == api_raw.path and meta["sha256"] == sha256_of(tmp_path / ICT / api_raw.path) != api_raw.sha256
    assert "worldbank_zip_member" in meta["origin"] and "127.0.0.1" in meta["origin"]
    assert (tmp_path / ICT / api_raw.path).read_bytes() == revised


def test_owid_grapher_csvs_from_the_publisher_are_the_pinned_files(mirror_dir, tmp_path):
    source = load_registry()["owid_ai"]
    with serving() as server:
        live = _pointed_at(source, server, "grapher", lambda raw: ok((mirror_dir / "owid_ai" / raw.path).read_bytes()))
        fetched = fetch_source(live, tmp_path, None, policy=FAST)
        hits = sum(server.hits.values())
    assert [f.sha256 for f in fetched] == [raw.sha256 for raw in source.files]
    assert hits == len(source.files) and vintages.snapshots(tmp_path, "owid_ai") == []


def test_pinned_fetches_the_pinned_url_not_the_live_endpoint(mirror_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(vintages.PINNED_ENV, "1")
    source = load_registry()["epoch_notable_models"]
    [raw] = source.files
    body = (mirror_dir / "epoch_notable_models" / raw.path).read_bytes()
    with serving() as server:
        pinned_url = server.route("/pinned.csv", ok(body))
        live_url = server.route("/live.csv", ok(body + b"x"))
        source = dataclasses.replace(source, files=(dataclasses.replace(raw, url=pinned_url, live_url=live_url),))
        [fetched] = fetch_source(source, tmp_path, None, policy=FAST)
        assert server.hits == {"/pinned.csv": 1}
    assert fetched.sha256 == raw.sha256


def test_without_mirror_or_network_the_build_stops_at_once_with_one_line(tmp_path):
    """`make run` on a machine without network and without AI_READINESS_MIRROR: every publisher host is unreachable
    (here: a closed port on 127.0.0.1 for every URL, so nothing leaves this machine)."""
    import socket
    import subprocess
    import sys
    import time

    import yaml

    from tests.conftest import PROJECT_ROOT

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registry = tmp_path / "registry"
    registry.mkdir()
    for path in (PROJECT_ROOT / "config" / "sources").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in doc["files"]:
            entry["url"] = f"https://127.0.0.1:{port}/{doc['source_id']}/{entry['path']}" if entry.get("url") else None
        for spec in (doc.get("live") or {}).get("files", {}).values():
            if "parts" in spec:  # a file fetched in several requests (imf_aipi)
                spec["parts"] = {name: f"https://127.0.0.1:{port}/live/{doc['source_id']}/{name}"
                                 for name in spec["parts"]}
            else:
                spec["url"] = f"https://127.0.0.1:{port}/live/{doc['source_id']}"
            if "discover" in spec:  # a publisher listing to find the newest file in: unreachable too
                spec["url"] += "/{name}"
                spec["discover"]["listing"] = f"https://127.0.0.1:{port}/listing/{doc['source_id']}"
        (registry / path.name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "AI_READINESS_DATA_DIR": str(tmp_path / "data"),
           "AI_READINESS_REGISTRY_DIR": str(registry), "HOME": str(tmp_path)}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "build"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    lines = (result.stdout + result.stderr).splitlines()
    assert result.returncode == 2 and took < 15, (took, lines)
    assert len(lines) <= 3, lines
    assert "network is unreachable" in result.stderr and "AI_READINESS_MIRROR" in result.stderr
    assert "--pinned" in result.stderr and "Traceback" not in result.stderr


def test_a_loopback_http_live_url_is_accepted_only_where_fetch_would_request_it(tmp_path, monkeypatch):
    """The loopback publisher of tests/test_scheduled_live.py: plain http to 127.0.0.1 needs
    AI_READINESS_ALLOW_LOCAL_HTTP=1 (fetch's own rule); http to any other host never passes."""
    import yaml

    from tests.conftest import PROJECT_ROOT

    def registry_with(url: str) -> Path:
        folder = tmp_path / str(abs(hash(url)))
        folder.mkdir()
        doc = yaml.safe_load((PROJECT_ROOT / "config" / "sources" / "owid_ai.yaml").read_text(encoding="utf-8"))
        first = next(iter(doc["live"]["files"]))
        doc["live"]["files"][first]["url"] = url
        (folder / "owid_ai.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return folder

    monkeypatch.delenv("AI_READINESS_SOURCES", raising=False)
    monkeypatch.delenv("AI_READINESS_ALLOW_LOCAL_HTTP", raising=False)
    loopback = registry_with("http://127.0.0.1:8765/grapher/x.csv")
    with pytest.raises(ValueError, match="must be https"):
        load_registry(loopback)
    monkeypatch.setenv("AI_READINESS_ALLOW_LOCAL_HTTP", "1")  # a refused load is not cached
    loaded = load_registry(loopback)
    assert any(f.live_url == "http://127.0.0.1:8765/grapher/x.csv" for f in loaded["owid_ai"].files)
    with pytest.raises(ValueError, match="must be https"):
        load_registry(registry_with("http://example.com/grapher/x.csv"))
