"""Schedules, freshness checks and the upstream-change sensor, evaluated with Dagster's test contexts.
The sensor probes a local HTTP server on 127.0.0.1: no network."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines.sources.fetch import HttpPolicy
from pipelines.sources.registry import RawFile, load_registry
from pipelines.sources.upstream import load_schedule_config


@pytest.fixture(scope="module")
def definitions():
    from pipelines.definitions import defs

    return defs()


def _asset_keys(definitions, job_name: str) -> set[str]:
    job = definitions.resolve_job_def(job_name)
    return {k.to_user_string() for k in job.asset_layer.executable_asset_keys}


# --- schedules -------------------------------------------------------------------------------------------------


def test_schedule_times_come_from_the_config_file(tmp_path):
    from pipelines.defs.schedules import build_schedules

    path = tmp_path / "schedules.yaml"
    path.write_text('full_refresh: {cron: "30 2 15 * *", timezone: Europe/Paris}\n')
    monthly, weekly = build_schedules(load_schedule_config(path))
    assert (monthly.cron_schedule, monthly.execution_timezone) == ("30 2 15 * *", "Europe/Paris")
    assert (weekly.cron_schedule, weekly.execution_timezone) == ("0 6 * * 1", "Asia/Tokyo")  # default kept


def test_monthly_full_refresh_requests_every_asset(definitions):
    schedule = definitions.resolve_schedule_def("monthly_full_refresh")
    config = load_schedule_config()
    assert (schedule.cron_schedule, schedule.execution_timezone) == (config.full_refresh.cron,
                                                                      config.full_refresh.timezone)
    assert config.full_refresh.cron == "0 6 1 * *" and config.full_refresh.timezone == "Asia/Tokyo"
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 12, 1, 6, tzinfo=ZoneInfo("Asia/Tokyo")))
    requests = schedule.evaluate_tick(context).run_requests
    assert len(requests) == 1 and schedule.job_name == "full_refresh"
    every_asset = {k.to_user_string() for k in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert _asset_keys(definitions, "full_refresh") == every_asset


def test_weekly_upstream_check_is_on_its_configured_time(definitions):
    schedule = definitions.resolve_schedule_def("weekly_upstream_check")
    config = load_schedule_config()
    assert (schedule.cron_schedule, schedule.execution_timezone) == (config.upstream_check.cron,
                                                                      config.upstream_check.timezone)


def _weekly_tick(schedule, definitions):
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 12, 7, 6, tzinfo=ZoneInfo("Asia/Tokyo")),
        repository_def=definitions.get_repository_def())
    return schedule.evaluate_tick(context)


def test_weekly_check_asks_live_endpoints_conditionally_and_runs_only_the_changed_source(definitions, upstream,
                                                                                          monkeypatch, tmp_path):
    from pipelines.defs.schedules import build_schedules
    from pipelines.sources.fetch import fetch_source

    monkeypatch.delenv("AI_READINESS_MIRROR", raising=False)  # live mode
    monkeypatch.delenv("AI_READINESS_PINNED", raising=False)
    monkeypatch.setenv("AI_READINESS_DATA_DIR", str(tmp_path))
    base, files = upstream
    body = b"country,value\nJPN,1\n"
    files.update({"/top500/data.csv": (body, '"v1"'), "/oecd_pisa/data.csv": (body, '"p1"')})
    policy = HttpPolicy(allow_local_http=True, attempts=1)
    sources = [_live_source(s, base, body) for s in ("top500", "oecd_pisa")]
    for source in sources:  # the working copies, with the ETags the publisher sent
        fetch_source(source, tmp_path / "raw", None, policy=policy)
    _, weekly = build_schedules(load_schedule_config(), lambda: sources, policy)

    result = _weekly_tick(weekly, definitions)
    assert not result.run_requests and "no live endpoint changed" in result.skip_message

    files["/top500/data.csv"] = (body + b"USA,2\n", '"v2"')  # a new vintage upstream
    (request,) = _weekly_tick(weekly, definitions).run_requests
    selected = {k.to_user_string() for k in request.asset_selection}
    downstream = dg.AssetSelection.assets("raw_top500").downstream().resolve(definitions.resolve_asset_graph())
    assert selected == {k.to_user_string() for k in downstream}
    assert {"raw_top500", "stg_top500", "mart_release_diff", "published_marts"} <= selected
    assert not {"raw_oecd_pisa", "stg_oecd_pisa"} & selected
    assert request.tags["ai_readiness/changed_sources"] == "top500"
    assert _Upstream.conditional.get("/top500/data.csv") == '"v1"'  # asked with If-None-Match


def test_weekly_check_offline_compares_the_mirror_with_the_working_copies(definitions, monkeypatch, tmp_path):
    from pipelines.defs.schedules import build_schedules
    from pipelines.sources.fetch import fetch_source

    mirror = tmp_path / "mirror"
    body = b"country,value\nJPN,1\n"
    sources = []
    for source_id in ("top500", "oecd_pisa"):
        (mirror / source_id / "raw").mkdir(parents=True)
        (mirror / source_id / "raw" / "data.csv").write_bytes(body)
        sources.append(_local_source(source_id, "https://example.invalid", body))
        fetch_source(sources[-1], tmp_path / "raw", mirror)
    monkeypatch.setenv("AI_READINESS_MIRROR", str(mirror))
    monkeypatch.setenv("AI_READINESS_DATA_DIR", str(tmp_path))
    _, weekly = build_schedules(load_schedule_config(), lambda: sources)
    assert not _weekly_tick(weekly, definitions).run_requests
    (mirror / "oecd_pisa" / "raw" / "data.csv").write_bytes(body + b"KOR,3\n")
    (request,) = _weekly_tick(weekly, definitions).run_requests
    assert request.tags["ai_readiness/changed_sources"] == "oecd_pisa"


# --- freshness -------------------------------------------------------------------------------------------------


def test_freshness_check_warns_when_a_source_is_older_than_its_cadence_plus_grace():
    from pipelines.defs.freshness import freshness_checks

    registry, grace = load_registry(), load_schedule_config().freshness_grace_days
    instance = dg.DagsterInstance.ephemeral()
    allowed_days = registry["top500"].update_cadence_days + grace
    last_update = {"raw_top500": time.time() - (allowed_days + 1) * 86400,  # one day too old
                   "raw_oecd_pisa": time.time() - (registry["oecd_pisa"].update_cadence_days - 1) * 86400}
    for asset, timestamp in last_update.items():  # materializations whose update time we choose
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset, metadata={"dagster/last_updated_timestamp": dg.MetadataValue.timestamp(timestamp)}))
    keys = [dg.AssetCheckKey(dg.AssetKey(a), "freshness_check") for a in [*last_update, "raw_owid_ai"]]
    result = dg.materialize(freshness_checks, instance=instance, selection=dg.AssetSelection.checks(*keys))
    outcome = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert not outcome["raw_top500"].passed and outcome["raw_top500"].severity == dg.AssetCheckSeverity.WARN
    assert outcome["raw_oecd_pisa"].passed
    assert not outcome["raw_owid_ai"].passed  # never fetched: stale too
    assert len(freshness_checks) == len(registry)


# --- upstream-change sensor --------------------------------------------------------------------------------------


class _Upstream(BaseHTTPRequestHandler):
    """Serves `files` {path: (body, etag or None)}; the test changes them between ticks. Answers If-None-Match
    with 304 when the ETag is the same, and remembers the last one asked per path (`conditional`)."""

    files: dict = {}
    conditional: dict = {}

    def _send(self, with_body: bool) -> None:
        if self.path not in self.files:
            self.send_error(404)
            return
        body, etag = self.files[self.path]
        asked = self.headers.get("If-None-Match")
        if asked:
            self.conditional[self.path] = asked
        if etag and asked == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_HEAD(self):  # noqa: N802
        self._send(False)

    def do_GET(self):  # noqa: N802
        self._send(True)

    def log_message(self, *args):
        pass


@pytest.fixture()
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Upstream.files
    finally:
        server.shutdown()
        server.server_close()
        _Upstream.files.clear()
        _Upstream.conditional.clear()


def _local_source(source_id: str, base_url: str, body: bytes):
    """The registered source, its files replaced by one file on the local server (registered as `body`)."""
    raw = RawFile(path="raw/data.csv", sha256=hashlib.sha256(body).hexdigest(), bytes=len(body),
                  url=f"{base_url}/{source_id}/data.csv", parser=None)
    return dataclasses.replace(load_registry()[source_id], files=(raw,))


def _live_source(source_id: str, base_url: str, body: bytes):
    """As _local_source, the file's live endpoint on the local server (the pinned URL elsewhere)."""
    source = _local_source(source_id, base_url, body)
    [raw] = source.files
    live = dataclasses.replace(raw, url="https://example.invalid/pinned.csv", live_url=raw.url)
    return dataclasses.replace(source, files=(live,), live_status="live")


def _tick(sensor, definitions, cursor):
    context = dg.build_sensor_context(cursor=cursor, definitions=definitions)
    result = sensor.evaluate_tick(context)
    return result, result.cursor


def test_sensor_refreshes_only_what_depends_on_the_changed_source(definitions, upstream, monkeypatch):
    from pipelines.defs.schedules import build_upstream_sensor

    monkeypatch.delenv("AI_READINESS_MIRROR", raising=False)  # live mode
    base, files = upstream
    body = b"country,value\nJPN,1\n"
    files.update({"/top500/data.csv": (body, '"v1"'), "/oecd_pisa/data.csv": (body, None)})
    sources = [_local_source("top500", base, body), _local_source("oecd_pisa", base, body)]
    sensor = build_upstream_sensor(lambda: sources, HttpPolicy(allow_local_http=True, attempts=1))

    result, cursor = _tick(sensor, definitions, None)  # first tick: same length (ETag) and same sha256 (no ETag)
    assert not result.run_requests and set(json.loads(cursor)) == {"top500", "oecd_pisa"}

    result, cursor = _tick(sensor, definitions, cursor)  # nothing changed
    assert not result.run_requests

    files["/top500/data.csv"] = (body, '"v2"')  # same bytes count, new ETag: the publisher replaced the file
    result, cursor = _tick(sensor, definitions, cursor)
    (request,) = result.run_requests
    selected = {k.to_user_string() for k in request.asset_selection}
    downstream = dg.AssetSelection.assets("raw_top500").downstream().resolve(definitions.resolve_asset_graph())
    assert selected == {k.to_user_string() for k in downstream}
    assert {"raw_top500", "stg_top500", "fct_indicator_values", "published_marts"} <= selected
    assert not {"raw_oecd_pisa", "stg_oecd_pisa"} & selected
    assert request.tags["ai_readiness/changed_sources"] == "top500"

    result, cursor = _tick(sensor, definitions, cursor)  # the cursor remembers v2: no second run
    assert not result.run_requests

    files["/oecd_pisa/data.csv"] = (b"country,value\nJPN,2\n", None)  # no ETag: hashed, differs from registry
    (request,) = _tick(sensor, definitions, cursor)[0].run_requests
    assert "raw_oecd_pisa" in {k.to_user_string() for k in request.asset_selection}
    assert "raw_top500" not in {k.to_user_string() for k in request.asset_selection}


def test_sensor_keeps_quiet_when_a_probe_fails(definitions, upstream, monkeypatch):
    from pipelines.defs.schedules import build_upstream_sensor

    monkeypatch.delenv("AI_READINESS_MIRROR", raising=False)
    base, files = upstream  # nothing served: every probe gets 404
    sensor = build_upstream_sensor(lambda: [_local_source("top500", base, b"x")],
                                   HttpPolicy(allow_local_http=True, attempts=1))
    assert not _tick(sensor, definitions, None)[0].run_requests


def test_sensor_skips_in_offline_mirror_mode(definitions, monkeypatch, tmp_path):
    monkeypatch.setenv("AI_READINESS_MIRROR", str(tmp_path))
    sensor = definitions.resolve_sensor_def("upstream_change_sensor")
    result = sensor.evaluate_tick(dg.build_sensor_context(definitions=definitions))
    assert not result.run_requests and "offline mirror" in result.skip_message
