"""A publisher that names each release as a new file: Microsoft's AI_Diffusion_<quarter>_Update.csv. A loopback
"GitHub" serves a contents-API listing of data/ and two quarters' files built from the mirror's pinned CSV; the
registry's discovery rule (config/sources/genai_usage.yaml) takes the newest quarter without a registry edit, the
snapshot records which file it was, and the same parser reads it, its period from the file's own header."""

from __future__ import annotations

import dataclasses
import json
import threading
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

import pytest

from pipelines.base.errors import FetchError
from pipelines.sources import vintages
from pipelines.sources.discovery import newest_file
from pipelines.sources.fetch import fetch_source, sha256_of
from pipelines.sources.registry import load_registry
from pipelines.sources.upstream import changed_sources, check_sources
from pipelines.staging.parsers import get_parser
from tests.test_live import FAST
from tests.test_scheduled_live import _App, _Publisher

GENAI = "genai_usage"
PINNED = "raw/AI_Diffusion_Q12026_Update.csv"
Q1, Q2 = "AI_Diffusion_Q12026_Update.csv", "AI_Diffusion_Q22026_Update.csv"


@pytest.fixture(autouse=True)
def _not_pinned(monkeypatch):
    monkeypatch.delenv(vintages.PINNED_ENV, raising=False)


@contextmanager
def publishing(routes: dict[str, bytes]):
    """A loopback publisher (ETag, Last-Modified, 304 to a matching If-None-Match, HEAD) serving `routes`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Publisher)
    server.app = _App()
    server.app.url = lambda path: f"http://127.0.0.1:{server.server_address[1]}{path}"
    for path, body in routes.items():
        server.app.serve(path, body)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.app
    finally:
        server.shutdown()
        server.server_close()


def _gets(app, path: str) -> int:
    return sum(1 for method, requested, _ in app.requests if method == "GET" and requested == path)


def _listing(*names: str, extra: tuple = ()) -> bytes:
    """The GitHub REST contents API answer for a folder (https://docs.github.com/en/rest/repos/contents)."""
    entries = [{"type": "file", "name": n, "path": f"data/{n}", "sha": f"{i:040x}", "size": 4468,
                "download_url": f"https://raw.githubusercontent.com/o/r/main/data/{n}"} for i, n in enumerate(names)]
    return json.dumps([*entries, *extra]).encode()


def _q2_from(pinned: bytes) -> tuple[bytes, float]:
    """The pinned file as a later quarter would be: the last column is Q2 2026, and Japan's value in it is South
    Korea's Q1 2026 value (taken from the mirror file, not typed)."""
    lines = pinned.split(b"\r\n")
    korea = next(ln for ln in lines if ln.startswith(b"South Korea,")).split(b",")[-1]
    japan = next(ln for ln in lines if ln.startswith(b"Japan,"))
    header = lines[0].replace(b"Q1 2026 AI Diffusion", b"Q2 2026 AI Diffusion")
    body = b"\r\n".join([header, *lines[1:]]).replace(japan, b",".join([*japan.split(b",")[:-1], korea]))
    return body, float(korea.rstrip(b"%"))


def _genai_live(server):
    """genai_usage with its Microsoft file's live URL and listing on the loopback publisher; the registry's
    discovery rule (pattern, order) unchanged."""
    source = load_registry()[GENAI]
    raw = next(f for f in source.files if f.path == PINNED)
    live = dataclasses.replace(raw, live_url=server.url("/microsoft/main/data/{name}"),
                               live_discover={**raw.live_discover, "listing": server.url("/contents/data")})
    return dataclasses.replace(source, files=(live,)), raw


def test_the_registry_discovers_microsofts_quarter_files_on_the_main_branch():
    [raw] = [f for f in load_registry()[GENAI].files if f.live_discover]
    assert raw.path == PINNED and raw.live_url.endswith("/main/data/{name}")
    assert raw.live_discover["listing"] == ("https://api.github.com/repos/microsoft/ai-diffusion-report/contents/"
                                            "data?ref=main")
    assert raw.live_options == {}  # the discovery rule is fetch's, not an adapter option


def test_the_newest_quarter_is_chosen_by_the_quarter_in_its_name():
    raw = next(f for f in load_registry()[GENAI].files if f.path == PINNED)
    names = ["AI_Diffusion_Q42025_Update.csv", Q2, Q1, "AI_Diffusion_Q32026_Update.csv.bak", "README.md"]
    found = newest_file(_listing(*names, extra=({"type": "dir", "name": "US"},)), raw, source_id=GENAI)
    assert found.name == Q2 and found.url.endswith("/main/data/" + Q2)
    assert found.git_sha == f"{1:040x}"  # the listing's sha of that entry
    ranked_by_year = newest_file(_listing("AI_Diffusion_Q42025_Update.csv", "AI_Diffusion_Q12026_Update.csv"), raw,
                                 source_id=GENAI)
    assert ranked_by_year.name == Q1  # 2026 Q1 is newer than 2025 Q4


def test_a_new_quarter_is_fetched_as_the_next_vintage_without_a_registry_edit(mirror_dir, tmp_path):
    pinned = (mirror_dir / GENAI / PINNED).read_bytes()
    q2, japan_q2 = _q2_from(pinned)
    with publishing({"/contents/data": _listing(Q1), f"/microsoft/main/data/{Q1}": pinned,
                     f"/microsoft/main/data/{Q2}": q2}) as server:
        live, raw = _genai_live(server)
        [first] = fetch_source(live, tmp_path, None, policy=FAST)
        assert first.sha256 == raw.sha256 and vintages.snapshots(tmp_path, GENAI) == []  # Q1: the pinned bytes
        assert changed_sources([live], tmp_path, FAST) == ([], [])  # same file name, 304 to its ETag

        server.serve("/contents/data", _listing(Q1, Q2))  # the publisher adds the next quarter's file
        assert changed_sources([live], tmp_path, FAST) == ([GENAI], [])
        changed, seen, errors = check_sources([live], {}, FAST)
        assert errors == [] and seen[GENAI][PINNED].endswith(f"|file:{Q2}")
        [second] = fetch_source(live, tmp_path, None, policy=FAST)
        assert _gets(server, f"/microsoft/main/data/{Q2}") == 1
        assert changed_sources([live], tmp_path, FAST) == ([], [])  # nothing newer than what was fetched

    working = tmp_path / GENAI / PINNED
    assert second.sha256 == sha256_of(working) != raw.sha256 and working.read_bytes() == q2
    [snap] = vintages.snapshots(tmp_path, GENAI)
    [meta] = snap.files
    assert meta["path"] == PINNED and meta["origin"].endswith("/microsoft/main/data/" + Q2)
    assert meta["discovered"] == {"name": Q2, "listing": server.url("/contents/data"), "git_sha": f"{1:040x}"}
    assert vintages.working_discovered_name(tmp_path, GENAI, PINNED) == Q2

    parse = get_parser(raw.parser)
    frame = parse(working, **raw.parser_options)
    japan = frame[frame["entity_name"] == "Japan"].set_index("period")["value"]
    assert japan["2026-Q2"] == japan_q2 and "2026-Q1" not in japan.index  # the period is the file's own header
    baseline = parse(mirror_dir / GENAI / PINNED, **raw.parser_options)
    assert len(frame) == len(baseline)


def test_a_listing_without_a_matching_file_stops_naming_source_file_and_rule(tmp_path):
    with publishing({"/contents/data": _listing("README.md", "AI_Diffusion_H2_2025.csv")}) as server:
        live, _ = _genai_live(server)
        with pytest.raises(FetchError) as failure:
            fetch_source(live, tmp_path, None, policy=FAST)
        assert failure.value.source_id == GENAI and failure.value.file == PINNED
        assert failure.value.rule == "live_discover" and "AI_Diffusion_Q" in str(failure.value)
        _, errors = changed_sources([live], tmp_path, FAST)  # the weekly check reports it, starts no run
        assert len(errors) == 1 and "live_discover" in errors[0]

        server.serve("/contents/data", b'{"message": "Not Found"}')
        with pytest.raises(FetchError, match="not an array") as not_a_folder:
            fetch_source(live, tmp_path, None, policy=FAST)
        assert not_a_folder.value.rule == "live_discover"


def test_pinned_builds_never_ask_the_listing(mirror_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(vintages.PINNED_ENV, "1")
    pinned = (mirror_dir / GENAI / PINNED).read_bytes()
    with publishing({"/contents/data": _listing(Q2), "/pinned.csv": pinned}) as server:
        live, raw = _genai_live(server)
        live = dataclasses.replace(live, files=(dataclasses.replace(live.files[0], url=server.url("/pinned.csv")),))
        [fetched] = fetch_source(live, tmp_path, None, policy=FAST)
        assert [(method, path) for method, path, _ in server.requests] == [("GET", "/pinned.csv")]
    assert fetched.sha256 == raw.sha256


@pytest.mark.parametrize("discover, message", [
    ({"listing": "https://x/contents", "pattern": "A(?P<y>\\d+)", "newest_by": ["year"]}, "named groups"),
    ({"listing": "http://example.com/contents", "pattern": "A(?P<y>\\d+)", "newest_by": ["y"]}, "must be https"),
    ({"listing": "https://x/contents", "pattern": "A("}, "exactly listing, pattern and newest_by"),
])
def test_a_malformed_discovery_rule_is_refused_when_the_registry_loads(tmp_path, discover, message):
    import yaml

    from tests.conftest import PROJECT_ROOT

    doc = yaml.safe_load((PROJECT_ROOT / "config" / "sources" / f"{GENAI}.yaml").read_text(encoding="utf-8"))
    doc["live"]["files"][PINNED]["discover"] = discover
    (tmp_path / f"{GENAI}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_registry(tmp_path)
