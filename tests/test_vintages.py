"""Vintages end to end, offline: a mirror in which one of Japan's published values changed builds and publishes
without a registry edit, mart_release_diff names that cell as a data revision with both values and lineage, and
`ai-readiness vintages` lists the snapshot; a corrupt new vintage is held with source, file, row and rule and the
release stays byte-identical; `--pinned` refuses the changed file and reproduces the registered baseline; a x10
Japan value (a unit error) is held the same way, on one screen.

One workspace per module: a mirror of symlinks to ../shared/data (read-only) with the World Bank folder copied so
it can be edited; builds run `ai-readiness build` in fresh processes, incremental after the first.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, release_bytes, run_build

WDI = "worldbank_wdi"
RD = "raw/datahub_world-development-indicators/gb.xpd.rsdv.gd.zs/data.csv"  # R&D expenditure, % of GDP
RD_JAPAN_LINE = b"Japan,JPN,2023,3.44125\r\n"
RD_JAPAN_ROW = 1482  # 1-based line of that value in the registered file
BROADBAND = "raw/datahub_world-development-indicators/it.net.bbnd.p2/data.csv"


def _published(data_dir: Path) -> dict[str, str]:
    marts = data_dir / "marts"
    files = [marts / "ai_readiness.duckdb", *sorted((marts / "parquet").glob("*.parquet"))]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _query(data_dir: Path, sql: str, params=()):
    with duckdb.connect(str(data_dir / "marts" / "ai_readiness.duckdb"), read_only=True) as connection:
        return connection.execute(sql, list(params)).df()


def _cli(data_dir: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {"AI_READINESS_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *argv], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, mirror_dir):
    root = tmp_path_factory.mktemp("vintages")
    mirror = root / "mirror"
    mirror.mkdir()
    for folder in mirror_dir.iterdir():
        if folder.is_dir() and folder.name != WDI:
            (mirror / folder.name).symlink_to(folder)
    shutil.copytree(mirror_dir / WDI, mirror / WDI)
    for path in (mirror / WDI).rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    data_dir = root / "data"
    result = run_build(data_dir, mirror)
    assert result.returncode == 0, result.stderr[-4000:]
    baseline = {
        "facts": _query(data_dir, "SELECT * FROM fct_indicator_values ORDER BY ALL"),
        "composite": _query(data_dir, "SELECT * FROM mart_composite_index ORDER BY iso3"),
        "release": (data_dir / "marts" / "current").resolve().name,
    }
    return data_dir, mirror, baseline


def test_a_revised_japan_value_publishes_without_a_registry_edit(workspace):
    data_dir, mirror, baseline = workspace
    registry_before = {p.name: p.read_bytes() for p in (PROJECT_ROOT / "config" / "sources").glob("*.yaml")}
    target = mirror / WDI / RD
    content = target.read_bytes()
    assert content.splitlines(keepends=True)[RD_JAPAN_ROW - 1] == RD_JAPAN_LINE
    target.write_bytes(content.replace(RD_JAPAN_LINE, b"Japan,JPN,2023,3.9\r\n"))
    new_sha = hashlib.sha256(target.read_bytes()).hexdigest()

    result = run_build(data_dir, mirror)

    assert result.returncode == 0, result.stderr[-4000:]
    release = (data_dir / "marts" / "current").resolve().name
    assert release != baseline["release"]  # published
    assert {p.name: p.read_bytes() for p in (PROJECT_ROOT / "config" / "sources").glob("*.yaml")} == registry_before
    fact = _query(data_dir, "SELECT value, raw_sha256, raw_row FROM fct_indicator_values WHERE iso3 = 'JPN' "
                            "AND source_code = 'GB.XPD.RSDV.GD.ZS' AND period = '2023'")
    assert fact.to_dict("records") == [{"value": 3.9, "raw_sha256": new_sha, "raw_row": str(RD_JAPAN_ROW)}]

    diff = _query(data_dir, "SELECT * FROM mart_release_diff")
    assert set(diff["old_release"]) == {baseline["release"]}
    [cell] = diff[(diff["row_kind"] == "cell") & (diff["indicator_key"] == "rd_expenditure_share_gdp")].to_dict("records")
    assert cell["change_type"] == "data_revision" and cell["iso3"] == "JPN"
    assert cell["old_value"] == pytest.approx(3.44125) and cell["new_value"] == pytest.approx(3.9)
    assert cell["old_period"] == cell["new_period"] == "2023"
    assert cell["new_raw_file"] == f"{WDI}/{RD}" and cell["new_raw_row"] == str(RD_JAPAN_ROW)
    assert cell["new_raw_sha256"] == new_sha and cell["old_raw_sha256"] != new_sha
    assert cell["new_score"] > cell["old_score"] and cell["contribution"] > 0
    # the score rows move by exactly what the attribution rows say
    for level, group in diff[diff["row_kind"] == "attribution"].groupby("level"):
        score = diff[(diff["row_kind"] == "score") & (diff["level"] == level)].iloc[0]
        assert group["contribution"].sum() == pytest.approx(score["score_delta"], abs=1e-9)
    research = diff[(diff["row_kind"] == "attribution") & (diff["level"] == "research_innovation")
                    & (diff["change_type"] == "data_revision")]
    assert research["contribution"].iloc[0] > 0

    listed = _cli(data_dir, "vintages", WDI)
    assert listed.returncode == 0, listed.stderr
    [line] = [ln for ln in listed.stdout.splitlines() if RD in ln]
    assert "published" in line and release in line and new_sha[:12] in line
    shown = _cli(data_dir, "diff")
    assert shown.returncode == 0, shown.stderr
    assert "rd_expenditure_share_gdp [data_revision] 3.441 (2023) -> 3.9 (2023)" in shown.stdout
    assert f"{WDI}/{RD} row {RD_JAPAN_ROW}" in shown.stdout


def test_a_corrupt_vintage_is_held_and_pinned_reproduces_the_baseline(workspace):
    data_dir, mirror, baseline = workspace
    before = _published(data_dir)
    target = mirror / WDI / BROADBAND
    original = target.read_bytes()
    lines = original.splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines, 1) if line.startswith(b"Japan,JPN,2023,"))
    lines[row - 1] = b"Japan,JPN,2023,not-a-number\r\n"
    target.write_bytes(b"".join(lines))

    result = run_build(data_dir, mirror)

    assert result.returncode == 1
    failure = [ln for ln in result.stderr.splitlines() if "rule=numeric_value" in ln]
    assert failure and f"source={WDI}" in failure[0] and BROADBAND in failure[0] and f"row={row}" in failure[0]
    assert "held" in result.stderr
    assert _published(data_dir) == before  # the last good release, byte for byte
    listed = _cli(data_dir, "vintages", WDI)
    [held] = [ln for ln in listed.stdout.splitlines() if BROADBAND in ln]
    assert " held" in held and "numeric_value" in held

    # --pinned: a changed file is refused with both checksums, nothing published
    pinned = run_build(data_dir, mirror, "--pinned")
    assert pinned.returncode == 1 and "rule=sha256_manifest" in pinned.stderr and "--pinned" in pinned.stderr
    assert _published(data_dir) == before

    # the mirror back to the registered files (the revised R&D value too): --pinned reproduces the first release
    target.write_bytes(original)
    rd = mirror / WDI / RD
    rd.write_bytes(rd.read_bytes().replace(b"Japan,JPN,2023,3.9\r\n", RD_JAPAN_LINE))
    reproduced = run_build(data_dir, mirror, "--pinned")
    assert reproduced.returncode == 0, reproduced.stderr[-4000:]
    facts = _query(data_dir, "SELECT * FROM fct_indicator_values ORDER BY ALL")
    assert facts.equals(baseline["facts"])
    assert _query(data_dir, "SELECT * FROM mart_composite_index ORDER BY iso3").equals(baseline["composite"])


def test_a_x10_japan_value_stops_the_build_on_one_screen(workspace):
    data_dir, mirror, _ = workspace
    before = release_bytes(data_dir)
    target = mirror / WDI / RD
    original = target.read_bytes()
    assert original.splitlines(keepends=True)[RD_JAPAN_ROW - 1] == RD_JAPAN_LINE
    target.write_bytes(original.replace(RD_JAPAN_LINE, b"Japan,JPN,2023,34.4125\r\n"))  # % of GDP x10

    result = run_build(data_dir, mirror)
    target.write_bytes(original)

    assert result.returncode == 1
    [line] = [ln for ln in result.stderr.splitlines() if "rule=release_value_moved " in ln]
    assert f"source={WDI}" in line and f"file={WDI}/{RD}" in line and f"row={RD_JAPAN_ROW}" in line, line
    assert "value=34.4125" in line and "last_value=3.44125" in line and "JPN 2023" in line, line
    assert "ai-readiness vintages accept worldbank_wdi " in line
    assert len(result.stderr.splitlines()) <= 10 and "held" in result.stderr, result.stderr  # one screen
    assert release_bytes(data_dir) == before
    [held] = [ln for ln in _cli(data_dir, "vintages", WDI).stdout.splitlines() if RD in ln and " held" in ln]
    assert "release_value_moved" in held


def test_accept_records_the_decision_on_a_held_snapshot_only(tmp_path):
    from pipelines.base.errors import PipelineDataError
    from pipelines.sources import vintages
    from pipelines.sources.registry import load_registry

    registry = load_registry()
    source = registry[WDI]
    raw = next(f for f in source.files if f.path == RD)
    content = tmp_path / "download.part"
    content.write_bytes(b"new bytes")
    raw_dir = tmp_path / "raw"
    snap = vintages.record_snapshot(raw_dir, source, raw, content, sha256="a" * 64, size=9, origin="test")
    vintages.set_working(raw_dir, WDI, raw, sha256="a" * 64, size=9, vintage=snap.vintage)

    with pytest.raises(PipelineDataError, match="no snapshot") as unknown:
        vintages.accept(raw_dir, WDI, "1999-01-01T000000Z", "checked")
    assert unknown.value.rule == "vintage_exists" and snap.vintage in str(unknown.value)
    # one run's failing checks add up; a later run's replace them
    vintages.mark_held(registry, raw_dir, [f"check a rule=x source={WDI}"], run_id="run-1")
    vintages.mark_held(registry, raw_dir, [f"check b rule=release_value_moved source={WDI}"], run_id="run-1")
    [held] = vintages.snapshots(raw_dir, WDI)
    assert held.status == "held" and len(held.doc["reasons"]) == 2
    with pytest.raises(PipelineDataError, match="--reason"):
        vintages.accept(raw_dir, WDI, snap.vintage, "  ")

    accepted = vintages.accept(raw_dir, WDI, snap.vintage, "the publisher confirmed it")
    assert accepted.status == "candidate" and "reasons" not in accepted.doc
    assert accepted.doc["accepted"]["reason"] == "the publisher confirmed it"
    assert len(accepted.doc["accepted"]["held_for"]) == 2
    [listed] = vintages.snapshot_files(registry, raw_dir)
    assert listed["sha256"] == "a" * 64 and listed["accepted"] and listed["vintage"] == snap.vintage
    vintages.mark_held(registry, raw_dir, [f"check c rule=y source={WDI}"], run_id="run-2")
    [again] = vintages.snapshots(raw_dir, WDI)
    assert again.doc["reasons"] == [f"check c rule=y source={WDI}"] and again.doc["accepted"]  # decision kept

    vintages.mark_published(registry, raw_dir, "release-1")
    with pytest.raises(PipelineDataError, match="is published"):
        vintages.accept(raw_dir, WDI, snap.vintage, "again")
