"""The BI hand-off as an analyst meets it: the published warehouse opens in DuckDB 1.x (the DuckDB BI drivers
ship), through SQLAlchemy + duckdb-engine with the README's read-only URI while another reader holds the file,
and the README's Japan-vs-G7 query gives the same answer there as on the Parquet exports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT

READERS_DIR = PROJECT_ROOT / ".venv" / "duckdb-readers"
README = PROJECT_ROOT / "README.md"

_READER = r"""
import json, sys
import duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
tables = [r[0] for r in connection.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
print(json.dumps({
    "version": duckdb.__version__,
    "rows": {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables},
    "described_columns": connection.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL AND comment <> ''").fetchone()[0],
    "answer": connection.execute(sys.argv[2]).fetchall(),
}, default=str))
"""


def _readme_block(heading: str, language: str) -> str:
    """The first ```<language> block after `heading` in the README: the test runs what the README says."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1).strip()


def readme_query() -> str:
    return _readme_block("## Use it from a BI tool", "sql")


def _readers() -> list:
    """The DuckDB 1.x installs of `make duckdb-readers` (part of `make install`); installed here if missing."""
    if not (READERS_DIR / ".installed").exists():
        subprocess.run(["make", "duckdb-readers"], cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=600)
    return sorted(p for p in READERS_DIR.iterdir() if p.is_dir())


def test_duckdb_1x_readers_open_the_published_warehouse(built, published_db):
    warehouse = str(built / "marts" / "ai_readiness.duckdb")
    expected_rows = {t: published_db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                     for (t,) in published_db.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()}
    expected_answer = [list(map(str, row)) for row in published_db.execute(readme_query()).fetchall()]
    described = published_db.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL AND comment <> ''").fetchone()[0]
    readers = _readers()
    assert {p.name for p in readers} >= {"1.0.0", "1.5.6"}
    for reader in readers:
        result = subprocess.run([sys.executable, "-c", _READER, warehouse, readme_query()], capture_output=True,
                                text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(reader)})
        assert result.returncode == 0, result.stderr[-2000:]
        found = json.loads(result.stdout)
        assert found["version"] == reader.name  # really that DuckDB, not the venv's 2.x
        assert found["rows"] == expected_rows
        assert found["described_columns"] == described > 0  # the comments survive the older format
        assert [list(map(str, row)) for row in found["answer"]] == expected_answer and expected_answer


def test_the_release_declares_the_storage_version_of_duckdb_1(published_db):
    from pipelines.publish.release import RELEASE_STORAGE_VERSION

    (tags,) = published_db.execute(
        "SELECT tags FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    assert RELEASE_STORAGE_VERSION == "v1.0.0" and tags["storage_version"] == "v1.0.0+"
    assert f"STORAGE_VERSION '{RELEASE_STORAGE_VERSION}'" in README.read_text(encoding="utf-8")
