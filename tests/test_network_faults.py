"""Network faults end to end: `ai-readiness build` in live mode (no mirror) against a hostile local server that
stalls mid-body, resets the connection, redirects in a loop, or answers 200 with an HTML page. Each build fails
in bounded time (retried where retrying can help, refused at once where it cannot), names the file and the rule,
and publishes nothing: data/marts/ stays byte-identical and no temp file is left in data/raw/.

tests/test_fetch.py covers each fault against pipelines.sources.fetch directly; these prove the whole build path
(registry URL -> raw asset -> exit code -> published outputs) behaves. The registry is a temp copy of
config/sources/worldbank_wdi.yaml whose URLs point at the local server (AI_READINESS_REGISTRY_DIR,
AI_READINESS_ALLOW_LOCAL_HTTP=1); AI_READINESS_HTTP_LIMITS shortens the timeouts and back-off.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from pipelines.sources.registry import SOURCES_DIR
from tests.fault_support import WDI, BuildServer, byte_snapshot, copy_data_dir, leftovers, server_env
from tests.test_fetch import ok, redirect, reset, serving, stall

FAULTY = "raw/datahub_world-development-indicators/it.net.secr.p6/data.csv"  # ~158 kB, a data file
LIMITS = {"connect_timeout": 1, "read_timeout": 0.5, "total_timeout": 5, "attempts": 3, "backoff_seconds": 0.05,
          "backoff_max_seconds": 0.1, "max_redirects": 3}
HTML = b"<!DOCTYPE html>\n<html><head><title>Please sign in</title></head><body>Log in to continue</body></html>"


@pytest.fixture(scope="module")
def hostile():
    with serving() as app:
        yield app


@pytest.fixture(scope="module")
def live_builds(hostile, tmp_path_factory):
    """A fork server whose registry downloads every WDI file from the hostile server (over local http)."""
    registry = tmp_path_factory.mktemp("registry")
    doc = yaml.safe_load((SOURCES_DIR / f"{WDI}.yaml").read_text(encoding="utf-8"))
    for file in doc["files"]:
        file["url"] = hostile.url("/" + file["path"])
    # the hostile server serves the pinned layout at the pinned URLs: no live endpoints in this registry
    doc["live"] = {"status": "none", "reason": "test registry: every file comes from the hostile server"}
    (registry / f"{WDI}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    env = server_env(None, AI_READINESS_REGISTRY_DIR=str(registry), AI_READINESS_ALLOW_LOCAL_HTTP="1",
                     AI_READINESS_HTTP_LIMITS=",".join(f"{k}={v}" for k, v in LIMITS.items()))
    server = BuildServer(env, tmp_path_factory.mktemp("live_builds"))
    yield server
    server.close()


def _body(baseline_dir: Path) -> bytes:
    return (baseline_dir / "raw" / WDI / FAULTY).read_bytes()


CASES = {
    # fault: (behaviour given the right bytes, rule named, words in the message, requests the server must see)
    "stall_mid_body": (stall, "download", "ReadTimeout", LIMITS["attempts"]),
    "connection_reset": (lambda body: reset, "download", "after 3 attempts", LIMITS["attempts"]),
    "redirect_loop": (lambda body: redirect("/" + FAULTY), "max_redirects", "redirect loop",
                      LIMITS["max_redirects"] + 1),
    "html_with_200": (lambda body: ok(HTML), "not_html", "HTML page", 1),
}


@pytest.mark.parametrize("fault", list(CASES))
def test_live_build_fails_in_bounded_time_and_publishes_nothing(fault, hostile, live_builds, wdi_baseline,
                                                                tmp_path):
    behaviour, rule, words, requests = CASES[fault]
    data_dir = copy_data_dir(wdi_baseline.new, tmp_path / "data")
    before = byte_snapshot(data_dir / "marts")
    body = _body(data_dir)
    (data_dir / "raw" / WDI / FAULTY).unlink()  # every other raw file is current: only this one is downloaded
    hostile.hits.clear()
    hostile.route("/" + FAULTY, behaviour(body))

    started = time.monotonic()
    code, log = live_builds.run(data_dir, timeout=120)
    took = time.monotonic() - started

    assert code == 1, log[-3000:]
    failure = [line for line in log.splitlines() if f"rule={rule}" in line]
    assert failure and FAULTY in failure[0] and f"source={WDI}" in failure[0] and words in failure[0], log[-3000:]
    assert hostile.hits["/" + FAULTY] == requests  # retried where it can help, not where it cannot
    assert took < 60, f"{fault} took {took:.0f}s"
    assert byte_snapshot(data_dir / "marts") == before  # nothing published
    assert not (data_dir / "raw" / WDI / FAULTY).exists() and leftovers(data_dir) == []


def test_a_hostile_registry_url_is_refused_before_any_request(hostile, live_builds, wdi_baseline, tmp_path):
    """Plain http to anything but this machine is never fetched, even with local http allowed (the registry
    of this module points at 127.0.0.1; a redirect from it to another host over http is refused)."""
    data_dir = copy_data_dir(wdi_baseline.new, tmp_path / "data")
    before = byte_snapshot(data_dir / "marts")
    (data_dir / "raw" / WDI / FAULTY).unlink()
    hostile.hits.clear()
    hostile.route("/" + FAULTY, redirect("http://example.com/data.csv"))
    code, log = live_builds.run(data_dir, timeout=120)
    assert code == 1 and "rule=https_only" in log and "only https" in log, log[-3000:]
    assert hostile.hits["/" + FAULTY] == 1
    assert byte_snapshot(data_dir / "marts") == before
