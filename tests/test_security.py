"""Security: read-only queries, user-supplied values that reach SQL, CSV formula injection, paths that must stay
inside their folders, no secrets in the repository, and HTTPS-only downloads.

(The report escapes source strings: tests/test_report.py. Zip slip, zip symlinks and zip bombs:
tests/test_fetch.py and tests/test_bad_inputs.py.)
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from pipelines.publish.query import safe_csv_cell, safe_csv_frame
from pipelines.sources.registry import SOURCES_DIR, load_registry
from tests.conftest import PROJECT_ROOT
from tests.fault_support import WDI, byte_snapshot, copy_data_dir, logical_snapshot

INJECTIONS = ["JPN' OR '1'='1", "JPN'; DROP TABLE dim_countries; --", 'JPN"; DROP TABLE x; --', "JPN\x00",
              "../../etc/passwd", "$(rm -rf ~)", "JPN OR 1=1"]


def _cli(monkeypatch, data_dir: Path, *argv: str) -> tuple[int, str, str]:
    from pipelines import cli

    monkeypatch.setenv("AI_READINESS_DATA_DIR", str(data_dir))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def published(wdi_baseline, tmp_path) -> Path:
    return copy_data_dir(wdi_baseline.new, tmp_path / "data")


# --- `ai-readiness query` cannot write anything ------------------------------------------------------------


def test_query_cannot_modify_the_warehouse_or_write_any_file(published, monkeypatch, tmp_path):
    marts = published / "marts"
    other = tmp_path / "other.duckdb"
    import duckdb

    duckdb.connect(str(other)).close()
    parquet = marts / "parquet" / "dim_sources.parquet"
    build = marts / ".build" / "ai_readiness.duckdb"
    before, other_before, build_before = byte_snapshot(marts), _sha(other), _sha(build)
    attacks = [
        "DROP TABLE dim_countries",
        "DELETE FROM fct_indicator_values",
        "INSERT INTO dim_sources SELECT * FROM dim_sources",
        "UPDATE dim_countries SET name = 'x'",
        "CREATE TABLE evil AS SELECT 1",
        "SELECT 1; DROP TABLE dim_countries",
        f"ATTACH '{other}' AS o (READ_WRITE); CREATE TABLE o.pwned AS SELECT 1",
        f"ATTACH '{build}' AS b (READ_WRITE); DROP TABLE b.fct_indicator_values",
        f"ATTACH '{marts / 'ai_readiness.duckdb'}' AS w2 (READ_WRITE)",
        f"COPY (SELECT 'pwned') TO '{parquet}' (FORMAT csv)",
        f"COPY dim_sources TO '{tmp_path / 'exfiltrated.csv'}'",
        f"EXPORT DATABASE '{tmp_path / 'dump'}'",
        "SELECT * FROM read_text('/etc/hostname')",
        "SET enable_external_access = true",
        "INSTALL httpfs",
    ]
    for sql in attacks:
        code, _, err = _cli(monkeypatch, published, "query", sql)
        assert code == 2, f"not refused: {sql}"
        assert len(err.strip().splitlines()) == 1, err  # one clear line
    assert byte_snapshot(marts) == before and _sha(other) == other_before and _sha(build) == build_before
    assert not (tmp_path / "exfiltrated.csv").exists() and not (tmp_path / "dump").exists()
    code, out, _ = _cli(monkeypatch, published, "query", "SELECT count(*) AS n FROM dim_sources")
    assert code == 0 and "1" in out  # reading still works


def test_query_csv_output_neutralises_formulas(published, monkeypatch):
    sql = ("SELECT * FROM (VALUES ('=HYPERLINK(\"http://evil\",\"x\")', 1, -5.0), ('+cmd|'' /C calc''!A0', 2, 0.5),"
           " ('-2+3', 3, 1.0), ('@SUM(1+1)*cmd|'' /C calc''!A0', 4, 2.0), (chr(9) || '=1+1', 5, 3.0),"
           " ('Japan', 6, 4.0), ('-1.5', 7, 5.0)) AS t(\"=name\", n, value)")
    code, out, err = _cli(monkeypatch, published, "query", sql, "--format", "csv")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["'=name", "n", "value"]
    names = [r[0] for r in rows[1:]]
    assert names[:5] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'+cmd|' /C calc'!A0", "'-2+3",
                         "'@SUM(1+1)*cmd|' /C calc'!A0", "'\t=1+1"]
    assert names[5:] == ["Japan", "-1.5"]  # text and plain numbers unchanged
    assert [r[2] for r in rows[1:3]] == ["-5.0", "0.5"]  # numeric columns untouched


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-1+1", "'-1+1"), ("@A1", "'@A1"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("-1.5", "-1.5"), ("+3e5", "+3e5"), ("Japan", "Japan"), ("", ""), (None, None),
    (-5, -5), (2.5, 2.5), ("a=b", "a=b"),
])
def test_safe_csv_cell(value, expected):
    assert safe_csv_cell(value) == expected


def test_safe_csv_frame_keeps_numbers_and_missing_values():
    import pandas as pd

    frame = pd.DataFrame({"name": ["=cmd", None, "ok"], "value": [-1.0, None, 2.0]})
    safe = safe_csv_frame(frame)
    assert safe["name"].tolist()[0] == "'=cmd" and pd.isna(safe["name"].tolist()[1])
    assert safe["value"].tolist()[0] == -1.0 and frame["name"].tolist()[0] == "=cmd"  # the input is not changed


# --- values from the CLI, the environment and config never become SQL ----------------------------------------


@pytest.mark.parametrize("iso3", INJECTIONS)
def test_explain_binds_or_refuses_injected_country_codes(published, monkeypatch, iso3):
    before = byte_snapshot(published / "marts")
    code, out, err = _cli(monkeypatch, published, "explain", iso3, "composite")
    assert code == 2 and "unknown country" in err and out == ""
    assert byte_snapshot(published / "marts") == before


@pytest.mark.parametrize("item", INJECTIONS[:3] + ["composite' OR '1'='1"])
def test_explain_binds_or_refuses_injected_indicator_ids(published, monkeypatch, item):
    code, out, err = _cli(monkeypatch, published, "explain", "JPN", item)
    assert code == 2 and "unknown indicator or pillar" in err and out == ""


@pytest.mark.parametrize("value", [i for i in INJECTIONS if "\x00" not in i] + ["jp", "JAPAN", ""])
def test_focus_country_must_be_an_iso3_code(monkeypatch, value):
    from pipelines.model.peer_groups import load_peer_config

    monkeypatch.setenv("AI_READINESS_FOCUS_COUNTRY", value)
    with pytest.raises(ValueError, match="is not an ISO3 code"):
        load_peer_config()


def test_an_unknown_focus_country_is_refused_against_the_country_dimension(published, monkeypatch):
    import duckdb

    from pipelines.model.peer_groups import group_memberships, load_peer_config

    monkeypatch.setenv("AI_READINESS_FOCUS_COUNTRY", "XXX")
    connection = duckdb.connect(str(published / "marts" / "ai_readiness.duckdb"), read_only=True)
    try:
        countries = connection.execute("SELECT * FROM dim_countries").df()
    finally:
        connection.close()
    with pytest.raises(ValueError, match="'XXX' is not in dim_countries"):
        group_memberships(countries, load_peer_config())


def test_peer_group_ids_in_config_must_be_identifiers(tmp_path):
    from pipelines.model.peer_groups import PEER_GROUPS_FILE, load_peer_config

    doc = yaml.safe_load(PEER_GROUPS_FILE.read_text(encoding="utf-8"))
    doc["groups"]["g7'; DROP TABLE mart_japan_benchmark; --"] = doc["groups"]["g7"]
    path = tmp_path / "peer_groups.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ValueError, match="peer-group ids must be lower-case identifiers"):
        load_peer_config(path)


@pytest.mark.parametrize("value", ["worldbank_wdi;DROP TABLE x", "worldbank_wdi' OR '1'='1", "../worldbank_wdi"])
def test_sources_setting_is_checked_against_the_registry(monkeypatch, value):
    monkeypatch.setenv("AI_READINESS_SOURCES", value)
    with pytest.raises(ValueError, match="names unknown sources"):
        load_registry()


def test_memory_limit_setting_cannot_carry_sql(monkeypatch):
    from pipelines.base.warehouse import memory_limit

    monkeypatch.setenv("AI_READINESS_DUCKDB_MEMORY_LIMIT", "1GB'; ATTACH 'x.duckdb' AS x; --")
    with pytest.raises(ValueError, match="is not a size"):
        memory_limit()


@pytest.mark.parametrize("name", ["stg_x; DROP TABLE y", "stg_x' --", "Stg", "stg x", "1stg", ""])
def test_table_names_are_identifiers(name):
    from pipelines.base.warehouse import identifier

    with pytest.raises(ValueError, match="not a safe SQL identifier"):
        identifier(name)


def test_a_data_dir_path_with_quotes_and_sql_builds_correctly(wdi_baseline):
    """Paths are user-supplied too (AI_READINESS_DATA_DIR): every one that reaches SQL (read_csv, ATTACH, COPY)
    must be a bound parameter or a quoted literal. The shared baseline builds (tests/fault_support.py) run in
    folders named like an injection, so both full builds prove it; here, that they did and what they published."""
    for data_dir in (wdi_baseline.old, wdi_baseline.new):
        assert "'" in str(data_dir) and "; DROP TABLE" in str(data_dir)
    assert logical_snapshot(wdi_baseline.old / "marts") == wdi_baseline.ref["KOR"]
    assert logical_snapshot(wdi_baseline.new / "marts") == wdi_baseline.ref["JPN"]


# --- paths from config stay inside their folders ----------------------------------------------------------------


def _registry_with_path(tmp_path: Path, path: str) -> Path:
    doc = yaml.safe_load((SOURCES_DIR / f"{WDI}.yaml").read_text(encoding="utf-8"))
    doc["files"][0]["path"] = path
    registry = tmp_path / "registry"
    registry.mkdir(exist_ok=True)
    (registry / f"{WDI}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return registry


@pytest.mark.parametrize("path", ["../../../etc/passwd", "raw/../../escape.csv", "/etc/passwd", "C:/x.csv",
                                  "raw\\..\\..\\x.csv", ""])
def test_registry_paths_that_leave_the_source_folder_are_refused_at_load(tmp_path, monkeypatch, path):
    monkeypatch.delenv("AI_READINESS_SOURCES", raising=False)
    with pytest.raises(ValueError, match="must be relative, without '..'"):
        load_registry(_registry_with_path(tmp_path, path))


def test_registry_source_ids_are_identifiers(tmp_path, monkeypatch):
    monkeypatch.delenv("AI_READINESS_SOURCES", raising=False)
    doc = yaml.safe_load((SOURCES_DIR / f"{WDI}.yaml").read_text(encoding="utf-8"))
    doc["source_id"] = "wdi;drop"
    (tmp_path / "wdi;drop.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ValueError, match="must match"):
        load_registry(tmp_path)


def test_a_symlink_in_the_raw_folder_is_replaced_not_written_through(mirror_dir, tmp_path):
    from pipelines.sources.fetch import fetch_source

    source = load_registry()[WDI]
    raw = source.files[0]
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    dest = tmp_path / "raw" / WDI / raw.path
    dest.parent.mkdir(parents=True)
    dest.symlink_to(outside)
    fetch_source(source, tmp_path / "raw", mirror_dir)
    assert outside.read_text() == "not yours"
    assert dest.is_file() and not dest.is_symlink() and _sha(dest) == raw.sha256


# --- the repository -------------------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "OpenAI/Anthropic key": re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "credential assignment": re.compile(
        r"""(?i)\b(?:api[_-]?key|secret|token|passw(?:or)?d|client[_-]?secret)\b\s*[:=]\s*["']([^"'\s]{12,})["']"""),
    "credentials in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s:@]{6,}@"),
}


def _repository_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=PROJECT_ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    return [PROJECT_ROOT / name for name in listed if name and (PROJECT_ROOT / name).is_file()]


def test_no_secrets_in_the_repository():
    files = _repository_files()
    assert len(files) > 50
    found = []
    for path in files:
        data = path.read_bytes()
        if b"\0" in data[:8192] or len(data) > 5 << 20:
            continue  # binary or large data: not where keys are pasted
        text = data.decode("utf-8", errors="replace")
        for label, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                if path.name == Path(__file__).name and "re.compile" in text[max(0, match.start() - 200):match.start()]:
                    continue  # the patterns themselves
                found.append(f"{path.relative_to(PROJECT_ROOT)}: {label}: {match.group(0)[:12]}...")
    assert not found, found
    assert ".env" not in {p.name for p in files}


def test_the_secret_scan_would_catch_a_key():
    planted = "aws_key = 'AKIA" + "ABCDEFGHIJKLMNOP'\napi_key: \"" + "s3cr3t-v4lue-0123456789\"\n"
    hits = {label for label, pattern in SECRET_PATTERNS.items() if pattern.search(planted)}
    assert {"AWS access key", "credential assignment"} <= hits


def test_every_registered_download_url_is_https():
    urls = []
    for path in sorted(SOURCES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        urls += [(path.name, f["path"], f.get("url")) for f in doc["files"] if f.get("url") is not None]
    assert len(urls) > 20
    assert [u for u in urls if not str(u[2]).startswith("https://")] == []
