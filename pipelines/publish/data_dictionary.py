"""docs/data_dictionary.md of a release: every published table and column (config/data_dictionary.yaml), the
framework's pillars and indicators, every indicator with its source, unit and licence, and every source with its
licence and restrictions - read from the release's own warehouse, so it describes exactly what was published."""

from __future__ import annotations

import time
from pathlib import Path

from pipelines.base.warehouse import identifier, sql_text
from pipelines.publish.exports import PARTITIONED, RELEASE_STORAGE_VERSION, load_dictionary


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _table(header: list[str], rows) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows] + [""]


def render(connection, release_id: str) -> str:
    specs = load_dictionary()
    tables = [r[0] for r in connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1").fetchall()]
    out = [
        f"# Data dictionary: ai-readiness release `{release_id}`", "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M %Z')} from `config/data_dictionary.yaml` (tables and columns), "
        "`config/framework.yaml` and `config/sources/` (through `dim_framework`, `dim_indicators`, `dim_sources`).",
        "", "Where the data is (all under `data/marts/`, switched together when a release is published):", "",
        f"- `ai_readiness.duckdb`: the tables below, in the storage format of DuckDB {RELEASE_STORAGE_VERSION} "
        "(readable by DuckDB 1.x and 2.x); descriptions also in `duckdb_columns().comment` and `dim_columns`",
        "- `parquet/<table>.parquet`: each table, typed as below, one file each; descriptions in each field's Arrow "
        "metadata, and table description, source, licence, restrictions and release id in the file's key-value "
        "metadata",
        *[f"- `parquet_by_source/{t}/{c}=<value>/part-0.parquet`: `{t}` again, Hive-partitioned by `{c}` "
          f"(`read_parquet('parquet_by_source/{t}/*/*.parquet', hive_partitioning = true)`); kept outside "
          "`parquet/` so that a glob over `parquet/` counts every row once" for t, c in PARTITIONED.items()],
        "- `report/index.html`: the HTML report", "",
        "Contents: [tables](#tables) · [framework](#framework) · [indicators](#indicators) · [sources](#sources)",
        "", "## Tables", "",
    ]
    for table in tables:
        spec = specs[table]
        count = connection.execute(f"SELECT count(*) FROM {identifier(table)}").fetchone()[0]
        out += [f"### `{table}` ({count:,} rows)", "", spec.description, ""]
        out += _table(["column", "type", "description"], [(f"`{c}`", t, d) for c, (t, d) in spec.columns.items()])

    def rows(name: str, needs: set[str]) -> list:  # a release of the core layers only has no dim_framework
        return connection.execute(sql_text("docs", name)).fetchall() if needs <= set(tables) else []

    out += ["## Framework", "", "Pillars and the indicators scored in each (weights as used in this release; "
            "indicators dropped by screening are listed with no weight, see `mart_screening`).", ""]
    out += _table(
        ["pillar", "indicator", "label", "source", "unit", "direction", "denominator", "window (years)",
         "weight in pillar", "pillar weight", "licence"],
        rows("framework", {"dim_framework", "dim_indicators", "dim_sources"}))
    out += ["## Indicators", "", "Every indicator in `fct_indicator_values`, with its source, unit and licence.", ""]
    out += _table(
        ["source", "indicator_id", "name", "unit", "kind", "countries", "years", "licence"],
        rows("indicators", {"dim_indicators", "dim_sources"}))
    out += ["## Sources", ""]
    for row in rows("sources", {"dim_sources"}):
        source_id, publisher, dataset, homepage, licence, terms, restrictions, vintage, cadence, caveats = row
        out += [f"### `{source_id}`: {publisher}, {dataset}", "",
                f"- Licence: {licence}", f"- Terms: {terms or 'n/a'}",
                f"- Restrictions: {restrictions or 'none recorded'}",
                f"- Vintage: {vintage}; expected update every {cadence} days; home page: {homepage or 'n/a'}"]
        out += [f"- Caveat: {c}" for c in (caveats or "").splitlines() if c.strip()] + [""]
    return "\n".join(out)


def write_data_dictionary(warehouse: Path, out_dir: Path, release_id: str) -> Path:
    from pipelines.base.warehouse import connect

    with connect(warehouse, read_only=True) as connection:
        text = render(connection, release_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "data_dictionary.md"
    target.write_text(text, encoding="utf-8")
    return target
