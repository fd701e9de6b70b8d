"""Two tables that describe a release from inside it, for SQL and BI tools that never see Parquet metadata or
DuckDB comments: `dim_columns` (every published column: table, type, description, unit; from
config/data_dictionary.yaml) and `dim_release` (release id, build time, code version, and per source its
vintage), so a dashboard can say "data as of release X". Written into the release at publish time, since only
then is the release id known."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import datetime
from functools import cache

from pipelines.base.settings import PROJECT_ROOT
from pipelines.base.warehouse import identifier

CATALOG_TABLES = ("dim_columns", "dim_release")
CODE_FOLDERS = ("pipelines", "sql", "config")  # what decides the published numbers (besides libraries and data)


@cache
def code_version() -> dict[str, str | None]:
    """The package version, the git commit when the code runs from a clone (with `-dirty` if files differ from
    it), and a sha256 over every file of pipelines/, sql/ and config/ (what the commit cannot say for a dirty or
    unversioned tree)."""
    from importlib import metadata

    try:
        version = metadata.version("ai-readiness")
    except metadata.PackageNotFoundError:
        version = None
    digest = hashlib.sha256()
    for folder in CODE_FOLDERS:
        for path in sorted((PROJECT_ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return {"package_version": version, "git_commit": _git_commit(), "code_sha256": digest.hexdigest()}


def _git_commit() -> str | None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", *CODE_FOLDERS)
    except (OSError, subprocess.SubprocessError):
        return None  # not a clone, or no git: code_sha256 still identifies the code
    return commit + ("-dirty" if dirty else "")


def _create(connection, catalog: str, spec, rows: list[tuple]) -> None:
    """Create `catalog.<spec.name>` with the contract's columns and types, holding `rows`."""
    columns = ", ".join(f"{identifier(c)} {t}" for c, (t, _) in spec.columns.items())
    table = f"{identifier(catalog)}.{identifier(spec.name)}"
    connection.execute(f"CREATE TABLE {table} ({columns})")
    if rows:
        marks = ", ".join("?" for _ in spec.columns)
        connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def write_catalog_tables(connection, catalog: str, specs: list, release_id: str, built_at: datetime,
                         storage_version: str) -> list:
    """dim_release and dim_columns in the release attached as `catalog`, after the published tables `specs`;
    returns their specs (to be commented and exported like the others)."""
    from pipelines.publish.exports import load_dictionary

    dictionary = load_dictionary()
    own = [dictionary[name] for name in CATALOG_TABLES]
    code = code_version()
    sources = []
    if any(spec.name == "dim_sources" for spec in specs):
        sources = connection.execute(f"SELECT source_id, dataset, vintage FROM {identifier(catalog)}.dim_sources "
                                     "ORDER BY source_id").fetchall()
    release = (release_id, built_at.replace(tzinfo=None), code["package_version"], code["git_commit"],
               code["code_sha256"], storage_version)
    _create(connection, catalog, dictionary["dim_release"],
            [(*release, *source) for source in sources] or [(*release, None, None, None)])
    columns = [(spec.name, column, position, data_type, description, spec.units.get(column))
               for spec in [*specs, *own]
               for position, (column, (data_type, description)) in enumerate(spec.columns.items(), start=1)]
    _create(connection, catalog, dictionary["dim_columns"], columns)
    return own
