"""Incremental builds: run only what changed since the last successful build (plain Python, no Dagster).

Each source's *input fingerprint* is the sha256 of
- its registry entry (config/sources/<source_id>.yaml as loaded: files with their sha256, parser options, ...),
- the stat (size, mtime, inode) of every registered file in data/raw/<source_id>/ and, in mirror mode, in the
  mirror: a touched, replaced or deleted raw file makes the source stale, and the raw step re-verifies it
  against the registered sha256 (a corrupted mirror still fails loudly),
- the *code version* of its branch: the parser modules it uses plus everything staging and its checks may
  import (all of pipelines/ and config/ except parser modules it does not use, other sources' entries and
  files only the marts read; see MARTS_ONLY).

The *marts fingerprint* is the sha256 of every source fingerprint plus all code, SQL and config, the versions of
the libraries that compute results, and the AI_READINESS_* settings that change results.

Fingerprints of the last successful build live in the build warehouse itself (table `_build_state`, never
published): delete the build warehouse and the next build is a full one. Protocol for `ai-readiness build`:

    plan = plan_build()                  # cheap: no Dagster import, no hashing of data files
    if plan.up_to_date: return           # nothing changed
    begin(plan)                          # forget the fingerprints of what is about to be rebuilt
    ... materialize plan.selection() ...
    commit(plan, published=...)          # only after a successful run: remember the new fingerprints
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.lib.registry import SOURCES_ENV, Source, load_registry
from pipelines.lib.settings import CONFIG_DIR, PROJECT_ROOT, SQL_DIR, Paths, current_paths, mirror_dir

STATE_TABLE = "_build_state"
FULL_REBUILD_ENV = "AI_READINESS_FULL_REBUILD"
PIPELINES_DIR = PROJECT_ROOT / "pipelines"
PARSERS_DIR = PIPELINES_DIR / "lib" / "parsers"
CODE_SUFFIXES = (".py", ".sql", ".yaml", ".yml", ".csv", ".json", ".toml", ".j2", ".html", ".css", ".txt")
# Read only by marts, benchmark, publish and report steps: a change here does not restage any source.
MARTS_ONLY = (
    "pipelines/cli.py", "pipelines/lib/method/", "pipelines/lib/report/", "pipelines/lib/benchmark.py",
    "pipelines/lib/index_build.py", "pipelines/lib/framework.py", "pipelines/lib/publish.py",
    "pipelines/lib/exports.py", "pipelines/lib/data_dictionary.py", "pipelines/lib/explain.py",
    "pipelines/lib/lock.py", "pipelines/defs/benchmark.py", "pipelines/defs/marts.py", "pipelines/defs/publish.py",
    "pipelines/defs/schedules.py", "config/framework.yaml", "config/method.yaml", "config/report.yaml",
    "config/schedules.yaml", "config/data_dictionary.yaml", "sql/marts/", "sql/intermediate/", "sql/examples/",
)
# Libraries whose version can change a number in the marts.
RESULT_LIBRARIES = ("duckdb", "pandas", "numpy", "scipy", "great-expectations", "country-converter", "openpyxl",
                    "xlrd", "pyyaml")
# Settings that only say where things are or how loud to be: they do not change results.
NEUTRAL_ENV = {"AI_READINESS_DATA_DIR", "AI_READINESS_MIRROR", "AI_READINESS_LOG_LEVEL",
               "AI_READINESS_REGISTRY_DIR", "AI_READINESS_ALLOW_LOCAL_HTTP", FULL_REBUILD_ENV}
MARTS_KEY = "marts"
PUBLISHED_KEY = "published"


def _sha(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


def code_files() -> list[Path]:
    """Every file whose content is code or config: pipelines/, sql/, config/ (minus config/sources/)."""
    files = []
    for root in (PIPELINES_DIR, SQL_DIR, CONFIG_DIR):
        for path in root.rglob("*"):
            if not path.is_file() or path.suffix not in CODE_SUFFIXES or "__pycache__" in path.parts:
                continue
            if path.parent == CONFIG_DIR / "sources":
                continue
            files.append(path)
    return sorted(files)


def _file_hashes(files: list[Path]) -> dict[str, str]:
    return {_relative(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _parser_module(parser_name: str) -> str:
    from pipelines.lib.parsers import PARSERS

    return PARSERS[parser_name].split(":")[0]


@dataclass(frozen=True)
class CodeVersion:
    """Content hashes of the code and config files, split into what staging reads and what only marts read."""

    files: dict[str, str]  # project-relative path -> sha256

    @classmethod
    def current(cls) -> "CodeVersion":
        return cls(_file_hashes(code_files()))

    def staging(self, source: Source) -> str:
        used = {f"pipelines/lib/parsers/{_parser_module(f.parser)}.py" for f in source.data_files}
        parsers = _relative(PARSERS_DIR) + "/"
        parts = [
            f"{path}={sha}" for path, sha in self.files.items()
            if not path.startswith(MARTS_ONLY)
            and (not path.startswith(parsers) or path.endswith("/__init__.py") or path in used)
        ]
        return _sha(*parts)

    def everything(self) -> str:
        return _sha(*(f"{path}={sha}" for path, sha in self.files.items()))


def _library_versions() -> str:
    from importlib import metadata

    versions = [sys.version.split()[0]]
    for name in RESULT_LIBRARIES:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=absent")
    return ";".join(versions)


def _result_settings() -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                    if k.startswith("AI_READINESS_") and k not in NEUTRAL_ENV)


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def raw_stats(source: Source, paths: Paths, mirror: Path | None) -> dict[str, list[int] | None]:
    """Stat of every registered file of a source, in data/raw/ and (mirror mode) in the mirror."""
    stats = {}
    for raw in source.files:
        stats[f"raw:{raw.path}"] = _stat(paths.raw_dir / source.source_id / raw.path)
        if mirror is not None:
            stats[f"mirror:{raw.path}"] = _stat(mirror / source.source_id / raw.path)
    return stats


def source_fingerprint(source: Source, code: CodeVersion) -> str:
    """Registry entry + code version of the source's branch (raw file stats are compared separately)."""
    return _sha("source", repr(source), code.staging(source))


@dataclass(frozen=True)
class SourcePlan:
    source_id: str
    fingerprint: str
    stats: dict  # raw_stats() when planned
    stale: bool
    reason: str


@dataclass(frozen=True)
class BuildPlan:
    """What `ai-readiness build` must run. Asset keys: raw_<id>, stg_<id>; everything else is 'marts'."""

    sources: dict[str, SourcePlan]
    marts_fingerprint: str
    rebuild_marts: bool
    publish: bool
    reasons: dict[str, str] = field(default_factory=dict)  # "marts" / "publish" -> why

    @property
    def stale_sources(self) -> tuple[str, ...]:
        return tuple(s for s, p in self.sources.items() if p.stale)

    @property
    def fresh_sources(self) -> tuple[str, ...]:
        return tuple(s for s, p in self.sources.items() if not p.stale)

    @property
    def up_to_date(self) -> bool:
        return not self.stale_sources and not self.rebuild_marts and not self.publish

    def skipped_asset_keys(self) -> list[str]:
        """raw_/stg_ assets whose inputs and code are unchanged: left out of the run."""
        return [key for s in self.fresh_sources for key in (f"raw_{s}", f"stg_{s}")]

    def stale_asset_keys(self) -> list[str]:
        return [key for s in self.stale_sources for key in (f"raw_{s}", f"stg_{s}")]

    def selection_string(self) -> str | None:
        """The run's selection in Dagster's selection syntax (`dg.AssetSelection.from_string`); None = nothing."""
        if self.up_to_date:
            return None
        if self.rebuild_marts or self.stale_sources:
            if not self.fresh_sources:
                return "*"
            return "not (" + " or ".join(f'key:"{k}"' for k in self.skipped_asset_keys()) + ")"
        return 'key:"published_marts"+'

    def selection(self):
        """The same as a `dg.AssetSelection` (checks of the selected assets come with them); None = nothing."""
        import dagster as dg

        if self.up_to_date:
            return None
        if self.rebuild_marts or self.stale_sources:
            everything = dg.AssetSelection.all()
            return everything - dg.AssetSelection.assets(*self.skipped_asset_keys()) if self.fresh_sources \
                else everything
        return dg.AssetSelection.assets("published_marts").downstream()

    def summary(self) -> str:
        if self.up_to_date:
            return f"up to date: {len(self.sources)} sources, marts and published outputs unchanged"
        parts = []
        if self.stale_sources:
            shown = ", ".join(f"{s} ({self.sources[s].reason})" for s in self.stale_sources[:5])
            more = len(self.stale_sources) - 5
            parts.append(f"{len(self.stale_sources)}/{len(self.sources)} sources to stage: {shown}"
                         + (f" (+{more} more)" if more > 0 else ""))
        if self.rebuild_marts:
            parts.append(f"marts: {self.reasons.get(MARTS_KEY, 'rebuild')}")
        if self.publish:
            parts.append(f"publish: {self.reasons.get(PUBLISHED_KEY, 'needed')}")
        return "; ".join(parts)


# --- state in the build warehouse ------------------------------------------------------------------------------


def read_state(build_warehouse: Path) -> tuple[dict[str, dict], set[str]]:
    """({key: {"fingerprint", "detail"}}, names of the warehouse's tables); empty without a build warehouse."""
    if not build_warehouse.exists():
        return {}, set()
    import duckdb

    from pipelines.lib.warehouse import connect

    try:
        with connect(build_warehouse, read_only=True) as connection:
            tables = {r[0] for r in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
            if STATE_TABLE not in tables:
                return {}, tables
            rows = connection.execute(f"SELECT key, fingerprint, detail FROM {STATE_TABLE}").fetchall()
    except duckdb.Error:  # unreadable (locked by a running build, damaged): plan a full build; its steps report why
        return {}, set()
    return {key: {"fingerprint": fp, "detail": json.loads(detail or "{}")} for key, fp, detail in rows}, tables


def _write_state(build_warehouse: Path, upserts: dict[str, tuple[str, dict]], deletes: list[str]) -> None:
    from pipelines.lib.warehouse import connect

    with connect(build_warehouse) as connection:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key VARCHAR PRIMARY KEY, "
                           "fingerprint VARCHAR NOT NULL, detail VARCHAR, recorded_at TIMESTAMPTZ)")
        connection.execute("BEGIN")
        try:
            keys = [*deletes, *upserts]
            if keys:
                connection.execute(f"DELETE FROM {STATE_TABLE} WHERE key IN (SELECT unnest(?))", [keys])
            if upserts:
                connection.executemany(
                    f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, now())",
                    [[key, fp, json.dumps(detail, sort_keys=True)] for key, (fp, detail) in upserts.items()])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def invalidate(paths: Paths | None = None) -> None:
    """Forget every fingerprint: the next build is a full one (after `--select` runs, for instance)."""
    paths = paths or current_paths()
    if not paths.build_warehouse.exists():
        return
    from pipelines.lib.warehouse import connect

    with connect(paths.build_warehouse) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {STATE_TABLE}")


# --- planning ---------------------------------------------------------------------------------------------------


def _published_stat(paths: Paths) -> list[int] | None:
    return _stat(paths.published_warehouse)


def plan_build(paths: Paths | None = None, registry: dict[str, Source] | None = None, *,
               mirror: Path | None | bool = True, full: bool | None = None) -> BuildPlan:
    """Compare current inputs and code with the fingerprints of the last successful build.

    `mirror=True` means "as configured" ($AI_READINESS_MIRROR); `full=None` means $AI_READINESS_FULL_REBUILD=1.
    """
    paths = paths or current_paths()
    registry = load_registry() if registry is None else registry
    mirror = mirror_dir() if mirror is True else (mirror or None)
    if full is None:
        full = os.environ.get(FULL_REBUILD_ENV, "").strip() == "1"
    state, tables = ({}, set()) if full else read_state(paths.build_warehouse)
    code = CodeVersion.current()

    sources = {}
    for source_id, source in registry.items():
        fingerprint = source_fingerprint(source, code)
        stats = raw_stats(source, paths, mirror)
        previous = state.get(f"source:{source_id}")
        if full:
            reason = "full rebuild requested"
        elif previous is None:
            reason = "never built"
        elif previous["fingerprint"] != fingerprint:
            reason = "registry entry or code changed"
        elif f"stg_{source_id}" not in tables:
            reason = "staged table missing"
        elif any(v is None for k, v in stats.items() if k.startswith("raw:")):
            reason = "raw file missing"
        elif previous["detail"].get("stats") != stats:
            reason = "raw file changed (stat)"
        else:
            reason = ""
        sources[source_id] = SourcePlan(source_id, fingerprint, stats, bool(reason), reason)

    marts_fingerprint = _sha(
        "marts", code.everything(), _library_versions(), _result_settings(),
        *(f"{s}={p.fingerprint}" for s, p in sorted(sources.items())),
    )
    reasons = {}
    marts_state = state.get(MARTS_KEY)
    if full:
        reasons[MARTS_KEY] = "full rebuild requested"
    elif any(p.stale for p in sources.values()):
        reasons[MARTS_KEY] = "a source changed"
    elif marts_state is None:
        reasons[MARTS_KEY] = "never built"
    elif marts_state["fingerprint"] != marts_fingerprint:
        reasons[MARTS_KEY] = "code, config, libraries or the source selection changed"
    elif not set(marts_state["detail"].get("tables", [])) <= tables:
        reasons[MARTS_KEY] = "a table of the build warehouse is missing"
    published_state = state.get(PUBLISHED_KEY)
    if MARTS_KEY in reasons:
        reasons[PUBLISHED_KEY] = "marts rebuilt"
    elif published_state is None or published_state["fingerprint"] != marts_fingerprint:
        reasons[PUBLISHED_KEY] = "published outputs are not from the current marts"
    elif published_state["detail"].get("stat") != _published_stat(paths) or not paths.parquet_dir.exists():
        reasons[PUBLISHED_KEY] = "published outputs missing or replaced"
    return BuildPlan(sources, marts_fingerprint, MARTS_KEY in reasons, PUBLISHED_KEY in reasons, reasons)


def begin(plan: BuildPlan, paths: Paths | None = None) -> None:
    """Before the run: forget the fingerprints of what is about to be rebuilt, so a crash mid-run leaves it stale."""
    paths = paths or current_paths()
    deletes = [f"source:{s}" for s in plan.stale_sources]
    if plan.rebuild_marts:
        deletes.append(MARTS_KEY)
    if plan.publish or plan.rebuild_marts:
        deletes.append(PUBLISHED_KEY)
    if deletes:
        _write_state(paths.build_warehouse, {}, deletes)


def commit(plan: BuildPlan, paths: Paths | None = None, *, published: bool, mirror: Path | None | bool = True,
           registry: dict[str, Source] | None = None) -> None:
    """After a successful run: remember what was built. A raw file that changed during the run is not recorded
    (its source stays stale); nothing is recorded as published unless `published`."""
    paths = paths or current_paths()
    mirror = mirror_dir() if mirror is True else (mirror or None)
    registry = load_registry() if registry is None else registry
    upserts: dict[str, tuple[str, dict]] = {}
    changed_during_run = False
    for source_id in plan.stale_sources:
        source_plan = plan.sources[source_id]
        stats = raw_stats(registry[source_id], paths, mirror) if source_id in registry else None
        stable_mirror = all(stats.get(k) == v for k, v in source_plan.stats.items() if k.startswith("mirror:")) \
            if stats is not None else False
        if stats is None or not stable_mirror or any(v is None for v in stats.values()):
            changed_during_run = True
            continue
        upserts[f"source:{source_id}"] = (source_plan.fingerprint, {"stats": stats})
    if plan.rebuild_marts and not changed_during_run:
        from pipelines.lib.warehouse import connect

        with connect(paths.build_warehouse, read_only=True) as connection:
            tables = sorted(r[0] for r in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
                if r[0] != STATE_TABLE)
        upserts[MARTS_KEY] = (plan.marts_fingerprint, {"tables": tables})
    if published and not changed_during_run:
        upserts[PUBLISHED_KEY] = (plan.marts_fingerprint, {"stat": _published_stat(paths)})
    if upserts:
        _write_state(paths.build_warehouse, upserts, [])


__all__ = ["BuildPlan", "SourcePlan", "begin", "commit", "invalidate", "plan_build", "read_state", "SOURCES_ENV"]
