"""`ai-readiness`: every command has --help; build shows progress; fetch, query, report and explain work against
the built data; errors are one line on stderr and exit 2, including injection attempts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipelines import cli
from tests.conftest import PROJECT_ROOT, run_build

COMMANDS = ("build", "fetch", "query", "report", "explain")


def _run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _error(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    return lines[0]


@pytest.fixture()
def on_built(built, monkeypatch):
    monkeypatch.setenv("AI_READINESS_DATA_DIR", str(built))
    return built


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_on_every_command(capsys, command):
    code, out, _ = _run(capsys, *([command] if command else []), "--help")
    assert code == 0 and "usage: ai-readiness" in out
    if command is None:
        assert all(c in out for c in COMMANDS)


@pytest.mark.parametrize("argv", [[], ["nope"], ["query", "SELECT 1", "--format", "xml"], ["explain", "JPN"],
                                  ["build", "--wait", "soon"]])
def test_usage_errors_are_one_line(capsys, argv):
    assert "error:" in _error(*_run(capsys, *argv)[::2])


def test_explain_indicator_prints_the_full_lineage(capsys, on_built, published_db):
    code, out, err = _run(capsys, "explain", "JPN", "genai_user_share")
    assert code == 0, err
    cell = published_db.execute(
        "SELECT s.raw_file, s.raw_row, s.normalised_score, f.raw_sha256 FROM mart_indicator_scores AS s "
        "JOIN fct_indicator_values AS f ON f.source_id = s.source_id AND f.source_code = s.source_code "
        "AND f.iso3 = s.iso3 AND f.period = s.period_used "
        "WHERE s.iso3 = 'JPN' AND s.indicator_key = 'genai_user_share'").fetchone()
    raw_file, raw_row, score, sha = cell
    assert f"{raw_file}  row {raw_row}" in out and sha in out
    for step in ("window", "denominator", "outliers", "imputation", "normalisation", "weight", "pillar score",
                 "composite", "licence", "vintage", "source        genai_usage"):
        assert step in out, step
    assert f"score {score:.4g}" in out


def test_explain_denominated_indicator_shows_the_denominator_lineage(capsys, on_built):
    code, out, _ = _run(capsys, "explain", "JPN", "ai_vc_per_gdp")
    assert code == 0
    assert "per_billion_gdp_usd: WDI NY.GDP.MKTP.CD" in out and "ny.gdp.mktp.cd/data.csv row" in out
    assert "restrictions  PREQIN-SOURCED" in out


def test_explain_pillar_lists_its_indicators_with_weights_and_scores(capsys, on_built, published_db):
    code, out, _ = _run(capsys, "explain", "jpn", "investment")
    assert code == 0
    score, rank = published_db.execute(
        "SELECT score, rank FROM mart_pillar_scores WHERE iso3 = 'JPN' AND pillar = 'investment'").fetchone()
    assert f"pillar score  {score:.4g} / 100, rank {rank} of" in out
    keys = [k for (k,) in published_db.execute(
        "SELECT indicator_key FROM dim_framework WHERE pillar = 'investment' AND is_scored").fetchall()]
    assert keys and all(k in out for k in keys)
    assert "weight" in out and "contrib." in out and "composite" in out


def test_explain_composite_and_non_framework_series(capsys, on_built):
    code, out, _ = _run(capsys, "explain", "JPN", "composite")
    assert code == 0 and "investment" in out and "government_policy" in out
    code, out, _ = _run(capsys, "explain", "JPN", "SP.POP.TOTL")
    assert code == 0 and "not a framework indicator" in out and "sp.pop.totl/data.csv" in out


@pytest.mark.parametrize("iso3, item, expected", [
    ("JPX", "investment", "unknown country 'JPX'"),
    ("JPN'; DROP TABLE dim_countries;--", "investment", "unknown country"),
    ("JPN", "x' OR '1'='1", "unknown indicator or pillar"),
    ("JPN", "genai_user", "close matches: genai_user_share"),
    ("JPN", "invest", "close matches: investment"),
])
def test_explain_rejects_unknown_names_with_close_matches(capsys, on_built, published_db, iso3, item, expected):
    assert expected in _error(*_run(capsys, "explain", iso3, item)[::2])
    assert published_db.execute("SELECT count(*) FROM dim_countries").fetchone()[0] > 200


def test_query_formats_and_read_only(capsys, on_built, published_db):
    sql = "SELECT iso3, score, rank FROM mart_composite_index WHERE iso3 IN ('JPN', 'USA') ORDER BY iso3"
    code, out, _ = _run(capsys, "query", sql)
    assert code == 0 and out.split()[:3] == ["iso3", "score", "rank"] and "JPN" in out
    code, out, err = _run(capsys, "query", sql, "--format", "csv")
    assert code == 0, err
    assert out.splitlines()[0] == "iso3,score,rank" and out.splitlines()[1].startswith("JPN,")
    code, out, _ = _run(capsys, "query", sql, "--format", "json")
    rows = json.loads(out)
    assert code == 0 and [r["iso3"] for r in rows] == ["JPN", "USA"] and isinstance(rows[0]["rank"], int)

    assert "read-only" in _error(*_run(capsys, "query", "DROP TABLE dim_sources")[::2])
    assert "does not exist" in _error(*_run(capsys, "query", "SELECT * FROM no_such_table")[::2])
    assert published_db.execute("SELECT count(*) FROM dim_sources").fetchone()[0] > 0
    code, out, _ = _run(capsys, "query", "--file", str(PROJECT_ROOT / "sql" / "examples" / "biggest_gaps.sql"))
    assert code == 0 and "indicator_key" in out


def test_report_renders_from_the_published_warehouse(capsys, on_built, tmp_path, monkeypatch):
    """The wiring only: rendering itself is tested in test_report.py and runs in every publish (~5 s)."""
    calls = []
    monkeypatch.setattr("pipelines.publish.report.build_report", lambda db, out: calls.append((db, out)) or out / "x")
    code, out, _ = _run(capsys, "report", str(tmp_path / "out"))
    assert code == 0 and calls == [(on_built / "marts" / "ai_readiness.duckdb", tmp_path / "out")]


def test_missing_warehouse_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AI_READINESS_DATA_DIR", str(tmp_path))
    assert "no published warehouse" in _error(*_run(capsys, "explain", "JPN", "investment")[::2])


def test_fetch_mirror_one_line_per_file(capsys, monkeypatch, tmp_path, mirror_dir):
    monkeypatch.setenv("AI_READINESS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AI_READINESS_MIRROR", str(mirror_dir))
    code, out, err = _run(capsys, "fetch", "oecd_pisa", "top500")
    assert code == 0, err
    fetched = [line for line in out.splitlines() if line.startswith("fetched ")]
    assert len(fetched) == 16 and fetched[-1].startswith("fetched 16/16 files")
    assert (tmp_path / "raw" / "oecd_pisa" / "raw" / "pisa_math_scores.csv").is_file()
    assert "unknown source 'top50'; did you mean top500?" in _error(*_run(capsys, "fetch", "top50")[::2])


def test_build_prints_one_line_per_step(tmp_path, mirror_dir):
    result = run_build(tmp_path, mirror_dir, "--select", "key:raw_oecd_pisa", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("[") and " ok " in line and line.split()[-2] == "raw_oecd_pisa" for line in lines)
    assert lines[-1].startswith("ai-readiness build ok in ")


def test_console_script_exit_code_and_one_line(built):
    """The real entry point, in a fresh process: exit status 2 and a single stderr line."""
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "explain", "XXX", "investment"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "AI_READINESS_DATA_DIR": str(built)})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "unknown country 'XXX'" in result.stderr
