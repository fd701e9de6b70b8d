"""Incremental builds: run only what changed since the last successful build (plain Python, no Dagster).

Each source's *input fingerprint* is the sha256 of
- its registry entry (config/sources/<source_id>.yaml as loaded: files with their sha256, parser options, ...),
- the stat (size, mtime, inode) of every registered file in data/raw/<source_id>/ and, in mirror mode, in the
  mirror: a touched, replaced or deleted raw file makes the source stale, and the raw step re-verifies it
  against the registered sha256 (a corrupted mirror still fails loudly),
- the *code version* of its branch: every file under pipelines/, sql/ and config/ (EXCLUDED lists the few that
  are not code) except other sources' registry entries, files only the marts read (MARTS_ONLY) and parser
  modules the source neither uses nor reaches through imports,
- the versions of the project's libraries and the AI_READINESS_* settings that can change results (all but
  NEUTRAL_ENV; MARTS_ONLY_ENV only in the marts fingerprint).

The *marts fingerprint* is the sha256 of every source fingerprint plus all code, SQL and config, the library
versions and the result settings. The published release is identified by what `data/marts/current` points to
and the stat of every file users open through it.

Fingerprints of the last successful build live in the build warehouse itself (table `_build_state`, never
published): delete the build warehouse and the next build is a full one. A blocking check recorded as failing
(or not re-run since its table was rebuilt, pipelines.base.audit) makes its source or the marts stale. Any
Dagster run this module did not plan (the UI, schedules, sensors, `--select`) forgets every fingerprint when it
starts (`forget_unless_planned`): it may rebuild or publish anything. Protocol for `ai-readiness build`:

    plan = plan_build()                  # cheap: no Dagster or pandas import, no hashing of data files
    if plan.up_to_date: return           # nothing changed
    begin(plan)                          # forget the fingerprints of what is about to be rebuilt
    with planned_run():
        ... materialize plan.selection() ...
    commit(plan, published=...)          # only after a successful run: remember the new fingerprints
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

from pipelines.base.settings import PROJECT_ROOT, Paths, current_paths, mirror_dir
from pipelines.sources.vintages import pinned, working_state
from pipelines.sources.registry import SOURCES_ENV, Source, load_registry

STATE_TABLE = "_build_state"
FULL_REBUILD_ENV = "AI_READINESS_FULL_REBUILD"
PARSERS = "pipelines/staging/parsers/"
CODE_ROOTS = ("pipelines", "sql", "config")
# Every file under CODE_ROOTS is code unless listed here. Registry entries are each in their own source's
# fingerprint (as loaded, also from $AI_READINESS_REGISTRY_DIR); the rest is bytecode and editor leftovers.
EXCLUDED = ("config/sources/",)
EXCLUDED_PARTS = ("__pycache__",)
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
# Read only by marts, benchmark, publish and report steps: a change here does not restage any source.
MARTS_ONLY = (
    "pipelines/model/audit_build.py",
    "pipelines/cli.py", "pipelines/model/method/", "pipelines/model/benchmark.py", "pipelines/model/index_build.py",
    "pipelines/model/framework.py", "pipelines/publish/", "pipelines/base/lock.py", "pipelines/defs/model.py",
    "pipelines/defs/publish.py", "pipelines/defs/schedules.py", "config/framework.yaml", "config/method.yaml",
    "config/report.yaml", "config/schedules.yaml", "config/data_dictionary.yaml", "config/peer_groups.yaml",
    "sql/marts/", "sql/intermediate/", "sql/examples/", "sql/checks/", "sql/docs/", "sql/explain/",
    "pipelines/model/whatif.py", "config/scenarios.yaml",
)
# Settings that only say where things are, how loud to be, how patient with the network or where a test kills a
# build: they do not change results. Every other AI_READINESS_* variable is in the fingerprints.
# AI_READINESS_PINNED changes results only where a working copy is a new vintage's snapshot: plan_build makes those
# sources stale itself (a --pinned build after a plain one of the same registered files is up to date).
NEUTRAL_ENV = {"AI_READINESS_DATA_DIR", "AI_READINESS_MIRROR", "AI_READINESS_LOG_LEVEL",
               "AI_READINESS_REGISTRY_DIR", "AI_READINESS_ALLOW_LOCAL_HTTP", "AI_READINESS_CRASH_AT",
               "AI_READINESS_HTTP_LIMITS", FULL_REBUILD_ENV, "AI_READINESS_PINNED"}
# Settings only the marts read: a change rebuilds the marts but restages no source.
MARTS_ONLY_ENV = {"AI_READINESS_FOCUS_COUNTRY", SOURCES_ENV}
MARTS_KEY = "marts"
PUBLISHED_KEY = "published"


def _sha(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def code_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """Every file under pipelines/, sql/ and config/ but the EXCLUDED few: a new file is code by default."""
    files = []
    for top in CODE_ROOTS:
        for path in (root / top).rglob("*"):
            relative = path.relative_to(root).as_posix()
            if (not path.is_file() or relative.startswith(EXCLUDED) or relative.endswith(EXCLUDED_SUFFIXES)
                    or any(part in EXCLUDED_PARTS for part in path.parts)):
                continue
            files.append(path)
    return sorted(files)


_PARSER_IMPORT = re.compile(rb"pipelines\.staging\.parsers\.(\w+)|from pipelines\.staging\.parsers import \(?([\w ,]+)")


def _parser_imports(text: bytes) -> frozenset[str]:
    """Names a file imports from pipelines.staging.parsers (modules or not: only module names are used)."""
    names = set()
    for dotted, imported in _PARSER_IMPORT.findall(text):
        names.update(n.strip().split(" ")[0] for n in (dotted or imported).decode().split(",") if n.strip())
    return frozenset(names)


def _parser_module(parser_name: str) -> str:
    from pipelines.staging.parsers import (
        PARSERS as PARSER_FUNCTIONS,  # pandas-free: a plain name -> "module:function" map
    )

    return PARSER_FUNCTIONS[parser_name].split(":")[0]


@dataclass(frozen=True)
class CodeVersion:
    """Content hashes of the code and config files, split into what staging reads and what only marts read."""

    files: dict[str, str]  # project-relative path -> sha256
    parser_imports: dict[str, frozenset[str]] = field(default_factory=dict)  # path -> names from parsers

    @classmethod
    def current(cls, root: Path = PROJECT_ROOT) -> "CodeVersion":
        files, imports = {}, {}
        for path in code_files(root):
            data = path.read_bytes()
            relative = path.relative_to(root).as_posix()
            files[relative] = hashlib.sha256(data).hexdigest()
            if relative.endswith(".py") and (found := _parser_imports(data)):
                imports[relative] = found
        return cls(files, imports)

    def parser_modules(self, source: Source) -> set[str]:
        """Parser modules staging `source` runs: those its files name, those any other staging code imports
        (pipelines/staging/stage.py uses the World Bank native readers for every source), and their imports."""
        modules = {p[len(PARSERS):-3] for p in self.files if p.startswith(PARSERS) and p.endswith(".py")}
        needed = {_parser_module(f.parser) for f in source.data_files}
        needed |= {name for path, names in self.parser_imports.items()
                   if not path.startswith((PARSERS, *MARTS_ONLY)) for name in names}
        needed &= modules
        while True:
            more = {name for module in needed for name in self.parser_imports.get(f"{PARSERS}{module}.py", ())}
            more = (more & modules) - needed
            if not more:
                return needed
            needed |= more

    def staging(self, source: Source) -> str:
        used = {f"{PARSERS}{module}.py" for module in self.parser_modules(source)}
        parts = [
            f"{path}={sha}" for path, sha in self.files.items()
            if not path.startswith(MARTS_ONLY)
            and (not path.startswith(PARSERS) or path == f"{PARSERS}__init__.py" or path in used)
        ]
        return _sha(*parts)

    def everything(self) -> str:
        return _sha(*(f"{path}={sha}" for path, sha in self.files.items()))


@cache
def library_versions() -> str:
    """Python and every library the project depends on (its declared requirements, as installed): any of them
    can change a staged row, a number in the marts or a published byte."""
    from importlib import metadata

    try:
        requirements = metadata.requires("ai-readiness") or []
    except metadata.PackageNotFoundError:  # not installed (`pip install -e .`): still hash what we know of
        requirements = ["duckdb", "pandas", "numpy", "scipy", "pyarrow", "great-expectations", "country-converter"]
    names = sorted({re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0] for r in requirements if "extra ==" not in r})
    versions = [sys.version.split()[0]]
    for name in names:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=absent")
    return ";".join(versions)


def result_settings(*, staging: bool = False) -> str:
    """The AI_READINESS_* settings that can change results (all but NEUTRAL_ENV); for a source's staging, also
    without MARTS_ONLY_ENV."""
    skip = NEUTRAL_ENV | (MARTS_ONLY_ENV if staging else set())
    return ";".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                    if k.startswith("AI_READINESS_") and k not in skip)


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
    """Registry entry, code version of the source's branch, libraries and settings (raw file stats are compared
    separately)."""
    return _sha("source", repr(source), code.staging(source), library_versions(), result_settings(staging=True))


def published_state(paths: Paths) -> dict | None:
    """The published release users see: the folder `data/marts/current` points to and the stat of every file
    under the entries users open (data/marts/ai_readiness.duckdb, parquet/, report/, docs/). None when there is
    no published warehouse."""
    from pipelines.publish.release import PUBLISHED_ENTRIES

    try:
        release = (paths.marts_dir / "current").resolve(strict=True)
    except OSError:
        return None
    if not paths.published_warehouse.is_file():
        return None
    files = {}
    for entry in PUBLISHED_ENTRIES:
        path = paths.marts_dir / entry
        if path.is_file():
            files[entry] = _stat(path)
        elif path.is_dir():
            for file in path.rglob("*"):
                if file.is_file():
                    files[file.relative_to(paths.marts_dir).as_posix()] = _stat(file)
    return {"release": release.name, "files": files}


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


class Recorded(NamedTuple):
    """What the build warehouse says about the last builds."""

    state: dict[str, dict]  # key -> {"fingerprint", "detail"}
    tables: set[str]  # the warehouse's tables
    failing_checks: set[str]  # '<table>:<check>' recorded as not passed (pipelines.base.audit)


def read_state(build_warehouse: Path) -> Recorded:
    """The fingerprints of the last successful build, the tables and the failing checks; empty without a build
    warehouse, or when it cannot be read (damaged: plan a full build, its steps report why)."""
    if not build_warehouse.exists():
        return Recorded({}, set(), set())
    import duckdb

    from pipelines.base.audit import AUDIT_TABLE
    from pipelines.base.warehouse import connect

    try:
        with connect(build_warehouse, read_only=True) as connection:
            tables = {r[0] for r in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
            failing = {r[0] for r in connection.execute(
                f"SELECT check_key FROM {AUDIT_TABLE} WHERE NOT passed").fetchall()} if AUDIT_TABLE in tables else set()
            if STATE_TABLE not in tables:
                return Recorded({}, tables, failing)
            rows = connection.execute(f"SELECT key, fingerprint, detail FROM {STATE_TABLE}").fetchall()
    except duckdb.Error:
        return Recorded({}, set(), set())
    state = {key: {"fingerprint": fp, "detail": json.loads(detail or "{}")} for key, fp, detail in rows}
    return Recorded(state, tables, failing)


def _write_state(build_warehouse: Path, upserts: dict[str, tuple[str, dict]], deletes: list[str]) -> None:
    from pipelines.base.warehouse import connect, transaction

    with connect(build_warehouse) as connection:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key VARCHAR PRIMARY KEY, "
                           "fingerprint VARCHAR NOT NULL, detail VARCHAR, recorded_at TIMESTAMPTZ)")
        with transaction(connection):
            keys = [*deletes, *upserts]
            if keys:
                connection.execute(f"DELETE FROM {STATE_TABLE} WHERE key IN (SELECT unnest(?))", [keys])
            if upserts:
                connection.executemany(
                    f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, now())",
                    [[key, fp, json.dumps(detail, sort_keys=True)] for key, (fp, detail) in upserts.items()])


def invalidate(paths: Paths | None = None) -> None:
    """Forget every fingerprint: the next build is a full one (after `--select` runs, for instance)."""
    paths = paths or current_paths()
    if not paths.build_warehouse.exists():
        return
    from pipelines.base.warehouse import connect

    with connect(paths.build_warehouse) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {STATE_TABLE}")


_planned = False  # True while `ai-readiness build` runs a plan of this module in this process


@contextmanager
def planned_run():
    """Around the Dagster run of a plan (`ai-readiness build`): its start does not forget the fingerprints."""
    global _planned
    _planned = True
    try:
        yield
    finally:
        _planned = False


def forget_unless_planned(paths: Paths) -> None:
    """At the start of every Dagster run (pipelines/defs/resources.py). A run this module did not plan (the UI, a
    schedule, a sensor, `ai-readiness build --select`, or one re-executed from the UI) may rebuild any table with
    other settings or publish: afterwards the recorded fingerprints would not describe the build warehouse or the
    published release, so they are forgotten (the next `ai-readiness build` is a full one)."""
    if not _planned:
        invalidate(paths)


# --- planning ---------------------------------------------------------------------------------------------------


def _check_owner(check_key: str, sources: dict) -> str | None:
    """The source whose staged table a check is on, MARTS_KEY for the core tables, None for other sources'."""
    table = check_key.split(":", 1)[0]
    if table.startswith("stg_"):
        return table.removeprefix("stg_") if table.removeprefix("stg_") in sources else None
    return MARTS_KEY


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
    state, tables, failing = Recorded({}, set(), set()) if full else read_state(paths.build_warehouse)
    failing_by_owner = {_check_owner(check, registry) for check in failing}
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
            reason = "registry entry, code, libraries or settings changed"
        elif f"stg_{source_id}" not in tables:
            reason = "staged table missing"
        elif any(v is None for k, v in stats.items() if k.startswith("raw:")):
            reason = "raw file missing"
        elif previous["detail"].get("stats") != stats:
            reason = "raw file changed (stat)"
        elif pinned() and any(e.get("vintage") for e in working_state(paths.raw_dir, source_id).values()):
            reason = "--pinned, and a working copy is a new vintage"
        elif source_id in failing_by_owner:
            reason = "a blocking check failed or was not re-run"
        else:
            reason = ""
        sources[source_id] = SourcePlan(source_id, fingerprint, stats, bool(reason), reason)

    marts_fingerprint = _sha(
        "marts", code.everything(), library_versions(), result_settings(),
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
        reasons[MARTS_KEY] = "code, config, libraries, settings or the source selection changed"
    elif not set(marts_state["detail"].get("tables", [])) <= tables:
        reasons[MARTS_KEY] = "a table of the build warehouse is missing"
    elif MARTS_KEY in failing_by_owner:
        reasons[MARTS_KEY] = "a blocking check failed or was not re-run"
    published_record, published_now = state.get(PUBLISHED_KEY), published_state(paths)
    if MARTS_KEY in reasons:
        reasons[PUBLISHED_KEY] = "marts rebuilt"
    elif published_record is None or published_record["fingerprint"] != marts_fingerprint:
        reasons[PUBLISHED_KEY] = "published outputs are not from the current marts"
    elif published_now is None:
        reasons[PUBLISHED_KEY] = "no published release (data/marts/current or a file under it is missing)"
    elif published_record["detail"] != published_now:
        reasons[PUBLISHED_KEY] = "published outputs missing, replaced or not the recorded release"
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
        from pipelines.base.warehouse import connect

        with connect(paths.build_warehouse, read_only=True) as connection:
            tables = sorted(r[0] for r in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
                if r[0] != STATE_TABLE)
        upserts[MARTS_KEY] = (plan.marts_fingerprint, {"tables": tables})
    release = published_state(paths) if published and not changed_during_run else None
    if release is not None:
        upserts[PUBLISHED_KEY] = (plan.marts_fingerprint, release)
    if upserts:
        _write_state(paths.build_warehouse, upserts, [])


__all__ = ["BuildPlan", "CodeVersion", "Recorded", "SourcePlan", "begin", "commit", "forget_unless_planned",
           "invalidate", "plan_build", "planned_run", "read_state"]
