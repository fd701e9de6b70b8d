"""A corpus of bad inputs: real mirror files, corrupted in a temporary copy, must be refused (or flagged, where the
rule is WARN) with a message naming source, file, row and rule, and the last published DuckDB and Parquet files
must stay byte-identical.

Speed: each run builds only the affected source (AI_READINESS_SOURCES) and the layers validation guards (ingest,
staging, core, publish: the benchmark layer derives from the audited core and adds nothing to these rules); one
good baseline per source, built once (session) and copied per case. Every build runs the real `ai-readiness build`
entry point (pipelines.cli.main) in this process, so Python, Dagster and Great Expectations are imported once;
the Dagster definitions are re-imported per build because they are made from the registry, which each case
patches (AI_READINESS_REGISTRY_DIR: a temp copy of config/sources whose sha256/bytes match the corrupted file,
so the parser and GX rules are reached rather than the checksum). One case runs the CLI in a fresh process.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import sys
import types
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

from tests.conftest import PROJECT_ROOT, run_build

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # group: selection strings are beta

WDI, EUROSTAT = "worldbank_wdi", "eurostat_enterprise_ai"
CORE = "group:ingest or group:staging or group:core or group:publish"  # what validation guards, up to publish
DH = "raw/datahub_world-development-indicators"
API_NET = "raw/worldbank_api_csv/IT.NET.USER.ZS/API_IT.NET.USER.ZS_DS2_en_csv_v2_1228.csv"
API_GDP = "raw/worldbank_api_csv/NY.GDP.PCAP.PP.KD/API_NY.GDP.PCAP.PP.KD_DS2_en_csv_v2_20423.csv"
META_NET = "raw/worldbank_api_csv/IT.NET.USER.ZS/Metadata_Country_API_IT.NET.USER.ZS_DS2_en_csv_v2_1228.csv"
META_GDP = "raw/worldbank_api_csv/NY.GDP.PCAP.PP.KD/Metadata_Country_API_NY.GDP.PCAP.PP.KD_DS2_en_csv_v2_20423.csv"
EU_FILE = "raw/database_ia.csv"


def datahub(code: str) -> str:
    return f"{DH}/{code}/data.csv"


# --- building ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = dict(os.environ)
    os.environ.pop("DAGSTER_HOME", None)
    os.environ.pop("AI_READINESS_REGISTRY_DIR", None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def build_in_process(source_id: str, data_dir: Path, mirror: Path,
                     registry_dir: Path | None = None, env_extra: dict | None = None) -> tuple[int, str]:
    """`ai-readiness build` (pipelines.cli.main) here, with fresh Dagster definitions; returns (exit code, stderr)."""
    env = {"AI_READINESS_DATA_DIR": str(data_dir), "AI_READINESS_MIRROR": str(mirror),
           "AI_READINESS_SOURCES": source_id, "AI_READINESS_LOG_LEVEL": "CRITICAL", **(env_extra or {})}
    if registry_dir is not None:
        env["AI_READINESS_REGISTRY_DIR"] = str(registry_dir)
    with _environment(env), _fresh_definitions():
        from pipelines import cli

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["build", "--select", CORE])
    return code, err.getvalue()


def _is_definitions_module(name: str) -> bool:
    return name.startswith("pipelines.defs.") or name == "pipelines.definitions"


@contextlib.contextmanager
def _fresh_definitions():
    """The asset graph is made from the registry at import: re-import it for this build, then put back the modules
    other tests imported (with their own environment) exactly as they were."""
    import pipelines
    import pipelines.defs

    saved = {n: m for n, m in sys.modules.items() if _is_definitions_module(n)}
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if _is_definitions_module(n)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for parent in (pipelines, pipelines.defs):
            for attribute, value in list(vars(parent).items()):
                name = f"{parent.__name__}.{attribute}"
                if isinstance(value, types.ModuleType) and _is_definitions_module(name) and name not in saved:
                    delattr(parent, attribute)
        for name, module in saved.items():
            parent_name, _, attribute = name.rpartition(".")
            setattr(sys.modules[parent_name], attribute, module)


def copy_mirror(mirror_dir: Path, source_id: str, dest: Path) -> Path:
    """A writable copy of one source's mirror folder (the shared mirror is read-only, files and folders)."""
    for src in (mirror_dir / source_id).rglob("*"):
        if src.is_file():
            target = dest / source_id / src.relative_to(mirror_dir / source_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
    return dest


def patched_registry(mirror: Path, source_id: str, dest: Path) -> Path:
    """config/sources/<source_id>.yaml with the sha256/bytes of whatever the (corrupted) mirror now holds."""
    dest.mkdir(parents=True)
    doc = yaml.safe_load((PROJECT_ROOT / "config" / "sources" / f"{source_id}.yaml").read_text(encoding="utf-8"))
    for entry in doc["files"]:
        path = mirror / source_id / entry["path"]
        if path.is_file():
            data = path.read_bytes()
            entry["sha256"], entry["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    (dest / f"{source_id}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return dest


def published_snapshot(marts_dir: Path) -> dict[str, str]:
    files = [marts_dir / "ai_readiness.duckdb", *sorted((marts_dir / "parquet").glob("*.parquet"))]
    return {str(p.relative_to(marts_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@dataclass(frozen=True)
class Baseline:
    source_id: str
    data_dir: Path
    mirror: Path
    snapshot: dict


@pytest.fixture(scope="session")
def baselines(tmp_path_factory, mirror_dir):
    """baselines(source_id): one good build of that source from the real mirror, made once per session; the
    'last published release' every case of that source starts from."""
    made: dict[str, Baseline] = {}

    def get(source_id: str) -> Baseline:
        if source_id not in made:
            root = tmp_path_factory.mktemp(f"baseline_{source_id}")
            mirror = copy_mirror(mirror_dir, source_id, root / "mirror")
            code, err = build_in_process(source_id, root / "data", mirror)
            assert code == 0, f"baseline build of {source_id} failed:\n{err[-5000:]}"
            made[source_id] = Baseline(source_id, root / "data", mirror, published_snapshot(root / "data" / "marts"))
        return made[source_id]

    return get


def case_workspace(baseline: Baseline, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the baseline's data dir (published release included; not the build warehouse) and mirror."""
    data_dir = tmp_path / "data"
    shutil.copytree(baseline.data_dir, data_dir, symlinks=True,
                    ignore=shutil.ignore_patterns(".build", "data_docs"))
    mirror = tmp_path / "mirror"
    shutil.copytree(baseline.mirror, mirror)
    return data_dir, mirror


# --- corruptions ---------------------------------------------------------------------------------------------


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _line_index(lines: list[bytes], needle: bytes) -> int:
    return next(i for i, line in enumerate(lines) if needle in line)


def _set_datahub_value(path: Path, prefix: bytes, value: bytes) -> int:
    """Replace the Value of the line starting with `prefix` (e.g. b'Japan,JPN,2020,'); return its 1-based row."""
    lines = _lines(path)
    i = _line_index(lines, prefix)
    ending = b"\r\n" if lines[i].endswith(b"\r\n") else b"\n"
    lines[i] = prefix + value + ending
    path.write_bytes(b"".join(lines))
    return i + 1


def _append(path: Path, *new_lines: bytes) -> list[int]:
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    first = data.count(b"\n") + 1
    path.write_bytes(data + b"".join(line + b"\n" for line in new_lines))
    return list(range(first, first + len(new_lines)))


def _scale_datahub(path: Path, factor: float) -> None:
    lines = _lines(path)
    out = [lines[0]]
    for line in lines[1:]:
        name_code_year, _, value = line.rstrip(b"\r\n").rpartition(b",")
        out.append(name_code_year + b"," + repr(float(value) * factor).encode() + b"\n" if value else line)
    path.write_bytes(b"".join(out))


def _api_rows(path: Path) -> tuple[list[bytes], int]:
    lines = _lines(path)
    return lines, _line_index(lines, b'"Country Name"')


def _set_api_value(path: Path, iso3: bytes, year: str, value: str) -> int:
    import csv

    lines, header_at = _api_rows(path)
    header = next(csv.reader([lines[header_at].decode("utf-8-sig")]))
    i = _line_index(lines, b'","' + iso3 + b'","')
    fields = next(csv.reader([lines[i].decode()]))
    fields[header.index(year)] = value
    lines[i] = (",".join(f'"{f}"' for f in fields) + "\n").encode()
    path.write_bytes(b"".join(lines))
    return i + 1


@dataclass
class Expect:
    rule: str
    file: str | None  # path inside the source folder the message must name
    rows: list = field(default_factory=list)  # rows (1-based lines) the message must name, if any
    source: str = WDI
    warn: bool = False  # WARN: flagged, and the build publishes
    texts: tuple = ()  # further substrings the failure line must contain


def sha256_mismatch(m: Path) -> Expect:
    path = m / WDI / datahub("ip.pat.resd")
    path.write_bytes(path.read_bytes().replace(b"Japan,JPN,2020,", b"Japan,JPN,2020,9"))
    return Expect("sha256_manifest", datahub("ip.pat.resd"))


def missing_file(m: Path) -> Expect:
    (m / WDI / datahub("it.net.secr.p6")).unlink()
    return Expect("mirror_file_exists", datahub("it.net.secr.p6"))


def truncated_mid_line(m: Path) -> Expect:
    path = m / WDI / datahub("it.net.bbnd.p2")
    lines = _lines(path)
    keep = len(lines) * 3 // 5
    cut = lines[keep].split(b",")[0] + b","  # the download stopped inside a line
    path.write_bytes(b"".join(lines[:keep]) + cut)
    return Expect("field_count", datahub("it.net.bbnd.p2"), [keep + 1])


def truncated_at_line_end(m: Path) -> Expect:
    path = m / WDI / API_NET
    lines, header_at = _api_rows(path)
    path.write_bytes(b"".join(lines[: header_at + 1 + 60]))  # a clean cut: parses, but 3/4 of the countries are gone
    return Expect("release_coverage_countries", API_NET, texts=("it_net_user_zs",))


def empty_file(m: Path) -> Expect:
    (m / WDI / datahub("se.xpd.totl.gd.zs")).write_bytes(b"")
    return Expect("non_empty", datahub("se.xpd.totl.gd.zs"), [1])


def html_error_page(m: Path) -> Expect:
    (m / WDI / datahub("gb.xpd.rsdv.gd.zs")).write_bytes(
        b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n"
        b"<body><h1>Service Unavailable</h1><p>Please try again later.</p></body></html>\n")
    return Expect("expected_columns", datahub("gb.xpd.rsdv.gd.zs"), [1])


def wrong_encoding(m: Path) -> Expect:
    path = m / WDI / datahub("sp.pop.totl")
    text = path.read_text(encoding="utf-8").replace("Cote d'Ivoire", "Côte d'Ivoire")
    row = text.splitlines().index(next(line for line in text.splitlines() if line.startswith("Côte"))) + 1
    path.write_bytes(text.encode("cp1252"))  # a spreadsheet round-trip on Windows
    return Expect("encoding", datahub("sp.pop.totl"), [row])


def utf16_with_bom(m: Path) -> Expect:
    path = m / WDI / datahub("tx.val.tech.mf.zs")
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))  # Excel "Unicode text": BOM FF FE
    return Expect("encoding", datahub("tx.val.tech.mf.zs"), [1])


def double_bom(m: Path) -> Expect:
    path = m / WDI / datahub("it.cel.sets.p2")
    path.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + path.read_bytes())  # a BOM added to a file that had one
    return Expect("expected_columns", datahub("it.cel.sets.p2"), [1])


def renamed_column(m: Path) -> Expect:
    path = m / WDI / datahub("sp.pop.scie.rd.p6")
    path.write_bytes(path.read_bytes().replace(b"Country Code,Year,Value", b"Country Code,Year,Amount", 1))
    return Expect("expected_columns", datahub("sp.pop.scie.rd.p6"), [1])


def missing_column(m: Path) -> Expect:
    import csv

    path = m / WDI / API_GDP
    lines, header_at = _api_rows(path)
    out = lines[: header_at]
    for line in lines[header_at:]:
        fields = next(csv.reader([line.decode("utf-8")]), [])
        out.append((",".join(f'"{f}"' for i, f in enumerate(fields) if i != 2) + "\n").encode())
    path.write_bytes(b"".join(out))
    return Expect("expected_columns", API_GDP, [header_at + 1])


def extra_column(m: Path) -> Expect:
    path = m / WDI / datahub("ip.pat.nres")
    lines = _lines(path)
    out = [lines[0].rstrip(b"\r\n") + b",Footnote\n"] + [line.rstrip(b"\r\n") + b",\n" for line in lines[1:]]
    path.write_bytes(b"".join(out))
    return Expect("expected_columns", datahub("ip.pat.nres"), [1])


def duplicated_rows(m: Path) -> Expect:
    path = m / WDI / datahub("ny.gdp.mktp.cd")
    lines = _lines(path)
    i = _line_index(lines, b"Japan,JPN,2018,")
    appended = _append(path, *(line.rstrip(b"\r\n") for line in lines[i: i + 3]))
    return Expect("unique_keys", datahub("ny.gdp.mktp.cd"), [i + 1, appended[0]])


def unit_x100_share(m: Path) -> Expect:
    _scale_datahub(m / WDI / datahub("gb.xpd.rsdv.gd.zs"), 100)  # % of GDP published as basis points
    return Expect("value_in_valid_range", datahub("gb.xpd.rsdv.gd.zs"), texts=("gb_xpd_rsdv_gd_zs",))


def unit_x100_unbounded(m: Path) -> Expect:
    _scale_datahub(m / WDI / datahub("ny.gdp.pcap.pp.cd"), 100)  # no valid_max: only the release check sees it
    return Expect("release_value_moved", datahub("ny.gdp.pcap.pp.cd"), texts=("last_value=", "x10 or more"))


def unit_x4_unbounded(m: Path) -> Expect:
    _scale_datahub(m / WDI / datahub("ny.gdp.pcap.pp.cd"), 4)  # under value_move_factor: flagged, published
    return Expect("release_value_moved_warn", datahub("ny.gdp.pcap.pp.cd"), warn=True, texts=("last_value=",))


def negative_share(m: Path) -> Expect:
    row = _set_api_value(m / WDI / API_NET, b"JPN", "2020", "-5")
    return Expect("value_in_valid_range", API_NET, [row], texts=("value=-5.0",))


def share_over_100(m: Path) -> Expect:
    row = _set_datahub_value(m / WDI / datahub("tx.val.tech.mf.zs"), b"Japan,JPN,2020,", b"140.0")
    return Expect("value_in_valid_range", datahub("tx.val.tech.mf.zs"), [row], texts=("value=140.0",))


def future_year(m: Path) -> Expect:
    rows = _append(m / WDI / datahub("sp.pop.tech.rd.p6"), b"Japan,JPN,2031,700.5")
    return Expect("year_not_in_future", datahub("sp.pop.tech.rd.p6"), rows, texts=("year=2031",))


def year_before_range(m: Path) -> Expect:
    rows = _append(m / WDI / datahub("it.net.secr.p6"), b"Japan,JPN,1955,1.0")
    return Expect("year_in_range", datahub("it.net.secr.p6"), rows, texts=("year=1955",))


def unknown_country(m: Path) -> Expect:
    rows = _append(m / WDI / datahub("ip.jrn.artc.sc"), b"Atlantis,ATL,2020,5.0")
    return Expect("country_harmonisation", datahub("ip.jrn.artc.sc"), rows, texts=("Atlantis",))


def aggregate_with_country_code(m: Path) -> Expect:
    path = m / WDI / datahub("ny.gdp.mktp.cd")  # "Arab World" rows carrying the UAE's code collide with the UAE's
    path.write_bytes(path.read_bytes().replace(b"Arab World,ARB,", b"Arab World,ARE,"))
    return Expect("unique_keys", datahub("ny.gdp.mktp.cd"), texts=("ARE",))


def aggregate_marked_as_economy(m: Path) -> Expect:
    for meta in (META_NET, META_GDP):  # both country metadata files now give "Arab World" a region
        path = m / WDI / meta
        path.write_bytes(path.read_bytes().replace(b'"ARB","",', b'"ARB","Middle East & North Africa",', 1))
    first_file = datahub("it.net.bbnd.p2")  # the first data file in the registry: it has Arab World rows too
    row = _line_index(_lines(m / WDI / first_file), b"Arab World,ARB,") + 1
    return Expect("country_harmonisation", first_file, [row], texts=("Arab World",))


def non_numeric_value(m: Path) -> Expect:
    row = _set_datahub_value(m / WDI / datahub("sp.pop.totl"), b"Japan,JPN,2020,", b"n/a")
    return Expect("numeric_value", datahub("sp.pop.totl"), [row])


def thousands_separator(m: Path) -> Expect:
    row = _set_datahub_value(m / WDI / datahub("sp.pop.totl"), b"Japan,JPN,2019,", b'"126,633,000"')
    return Expect("numeric_value", datahub("sp.pop.totl"), [row])


def decimal_comma_in_wdi(m: Path) -> Expect:
    row = _set_datahub_value(m / WDI / datahub("se.ter.enrr"), b"Japan,JPN,2019,", b'"64,1"')
    return Expect("numeric_value", datahub("se.ter.enrr"), [row])


def eurostat_decimal_point(m: Path) -> Expect:
    path = m / EUROSTAT / EU_FILE
    path.write_bytes(path.read_bytes().replace(b"Belgium;10,32;", b"Belgium;10.32;", 1))
    return Expect("numeric_value", EU_FILE, [2], source=EUROSTAT)


def eurostat_decimal_comma_lost(m: Path) -> Expect:
    path = m / EUROSTAT / EU_FILE  # "10,32" -> "1032": a locale conversion that dropped the comma (x100)
    lines = _lines(path)
    path.write_bytes(lines[0] + b"".join(re.sub(rb"(\d),(\d)", rb"\1\2", line) for line in lines[1:]))
    return Expect("value_in_valid_range", EU_FILE, [2], source=EUROSTAT, texts=("share_pct",))


def eurostat_comma_delimiter(m: Path) -> Expect:
    import csv

    path = m / EUROSTAT / EU_FILE  # re-saved as comma-separated
    text = path.read_bytes().decode("utf-8-sig")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in text.splitlines():
        writer.writerow(line.split(";"))
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode())
    return Expect("expected_columns", EU_FILE, [1], source=EUROSTAT)


def huge_line(m: Path) -> Expect:
    path = m / WDI / datahub("bx.gsr.royl.cd")
    lines = _lines(path)
    lines.insert(9, b"Japan,JPN,2020," + b"9" * (2 << 20) + b"\n")  # 2 MiB: a runaway field
    path.write_bytes(b"".join(lines))
    return Expect("max_line_length", datahub("bx.gsr.royl.cd"), [10])


def japan_dropped(m: Path) -> Expect:
    path = m / WDI / datahub("ip.pat.resd")
    lines = _lines(path)
    path.write_bytes(b"".join(line for line in lines if not line.startswith(b"Japan,JPN,")))
    return Expect("release_focus_country", datahub("ip.pat.resd"), texts=("JPN", "ip_pat_resd", "2020"))


def indicator_code_changed(m: Path) -> Expect:
    path = m / WDI / API_GDP  # upstream renamed the series: the registered indicator disappears
    path.write_bytes(path.read_bytes().replace(b'"NY.GDP.PCAP.PP.KD"', b'"NY.GDP.PCAP.PP.KD.V2"'))
    return Expect("release_coverage_indicators", API_GDP, texts=("ny_gdp_pcap_pp_kd",))


CASES: dict[str, Callable[[Path], Expect]] = {f.__name__: f for f in [
    sha256_mismatch, missing_file, truncated_mid_line, truncated_at_line_end, empty_file, html_error_page,
    wrong_encoding, utf16_with_bom, double_bom, renamed_column, missing_column, extra_column, duplicated_rows,
    unit_x100_share, unit_x100_unbounded, unit_x4_unbounded, negative_share, share_over_100, future_year, year_before_range,
    unknown_country, aggregate_with_country_code, aggregate_marked_as_economy, non_numeric_value,
    thousands_separator, decimal_comma_in_wdi, eurostat_decimal_point, eurostat_decimal_comma_lost,
    eurostat_comma_delimiter, huge_line, japan_dropped, indicator_code_changed,
]}
KEEP_REGISTRY = {"sha256_mismatch", "missing_file"}  # these test the checksum/presence check itself


def _failure_line(stderr: str, expect: Expect) -> str:
    """The one line naming the rule, the source and the file."""
    candidates = [line for line in stderr.splitlines()
                  if f"rule={expect.rule}" in line and expect.source in line and (expect.file or "") in line]
    assert candidates, f"no line names rule={expect.rule}, {expect.source} and {expect.file}:\n{stderr[-4000:]}"
    return candidates[0]


def _rows_named(line: str) -> set[int]:
    match = re.search(r"row=([0-9][0-9,]*)", line)
    assert match, f"no row named in: {line}"
    return {int(r) for r in match.group(1).split(",") if r}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_and_the_release_kept(name, baselines, tmp_path):
    _refused_and_release_kept(name, baselines, tmp_path)


# The suites' rules, with every table forced down the large-table path (suites compiled to DuckDB SQL,
# pipelines/validation/sql_runner.py): the same refusals, the same lines.
SQL_PATH_CASES = ["duplicated_rows", "aggregate_with_country_code", "share_over_100", "future_year",
                  "year_before_range", "eurostat_decimal_comma_lost"]


@pytest.mark.parametrize("name", SQL_PATH_CASES)
def test_bad_input_is_refused_on_the_sql_path(name, baselines, tmp_path, monkeypatch):
    from pipelines.validation import sql_runner

    validated, original = [], sql_runner.run_suite_sql

    def spy(spec, connection, table, **kwargs):
        validated.append(table)
        return original(spec, connection, table, **kwargs)

    monkeypatch.setattr(sql_runner, "run_suite_sql", spy)
    source_id = _refused_and_release_kept(name, baselines, tmp_path, {"AI_READINESS_GX_MAX_ROWS": "0"})
    assert validated[:1] == [f"stg_{source_id}"]  # the staged check ran in SQL (and refused: nothing downstream)


def _refused_and_release_kept(name: str, baselines, tmp_path: Path, env_extra: dict | None = None) -> str:
    source_id = EUROSTAT if name.startswith("eurostat_") else WDI
    baseline = baselines(source_id)
    data_dir, mirror = case_workspace(baseline, tmp_path)
    expect = CASES[name](mirror)
    assert expect.source == source_id
    registry = None if name in KEEP_REGISTRY else patched_registry(mirror, source_id, tmp_path / "registry")
    if name == "sha256_mismatch":  # the checksum check itself: only --pinned refuses a changed file
        env_extra = {**(env_extra or {}), "AI_READINESS_PINNED": "1"}

    code, stderr = build_in_process(source_id, data_dir, mirror, registry, env_extra)

    line = _failure_line(stderr, expect)
    assert expect.source in line and f"rule={expect.rule}" in line
    if expect.rows:
        assert set(expect.rows) <= _rows_named(line), line
    elif expect.rule.startswith("release_"):
        assert _rows_named(line), line  # the rows of the last release that are gone or moved
    for text in expect.texts:
        assert text in line, f"{text!r} not in: {line}"
    after = published_snapshot(data_dir / "marts")
    if expect.warn:
        assert code == 0, stderr[-3000:]
        assert "WARN" in line and after != baseline.snapshot  # flagged, and published
    else:
        assert code != 0 and "FAILED" in stderr
        assert after == baseline.snapshot  # the last release is byte-identical
    return source_id


def test_refusal_end_to_end_in_a_fresh_process(baselines, tmp_path):
    """The same path as `make run`: a new process, exit code 1, the GX check's line on stderr."""
    baseline = baselines(WDI)
    data_dir, mirror = case_workspace(baseline, tmp_path)
    expect = share_over_100(mirror)
    result = run_build(data_dir, mirror, "--select", CORE, env_extra={
        "AI_READINESS_SOURCES": WDI,
        "AI_READINESS_REGISTRY_DIR": str(patched_registry(mirror, WDI, tmp_path / "registry")),
    })
    assert result.returncode == 1
    line = _failure_line(result.stderr, expect)
    assert line.lstrip(" -").startswith("check stg_worldbank_wdi:gx_suite ERROR")
    assert set(expect.rows) <= _rows_named(line)
    assert published_snapshot(data_dir / "marts") == baseline.snapshot
    assert (data_dir / "marts" / "data_docs" / "index.html").is_file()  # GX Data Docs of the failed run


# --- archives: not wired to a source yet, so pipelines.sources.archives is exercised directly ------------------------


def _real_member(mirror: Path) -> bytes:
    return (mirror / WDI / datahub("sp.pop.totl")).read_bytes()


def test_zip_with_parent_paths_is_refused(baselines, tmp_path):
    baseline = baselines(WDI)
    from pipelines.base.errors import FetchError
    from pipelines.sources.archives import safe_extract_zip

    archive = tmp_path / "API_SP.POP.TOTL_DS2_en_csv_v2.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("data.csv", _real_member(baseline.mirror))
        zf.writestr("../../escaped.csv", _real_member(baseline.mirror))
    with pytest.raises(FetchError) as refused:
        safe_extract_zip(archive, tmp_path / "out", source_id=WDI, file=archive.name)
    message = str(refused.value)
    assert refused.value.rule == "zip_path_traversal" and WDI in message and archive.name in message
    assert "../../escaped.csv" in message
    assert not (tmp_path.parent / "escaped.csv").exists() and not (tmp_path / "out").exists()
    assert published_snapshot(baseline.data_dir / "marts") == baseline.snapshot


def test_zip_bomb_is_refused(baselines, tmp_path):
    baseline = baselines(WDI)
    from pipelines.base.errors import FetchError
    from pipelines.sources.archives import safe_extract_zip

    archive = tmp_path / "API_SP.POP.TOTL_DS2_en_csv_v2.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.csv", _real_member(baseline.mirror))
        zf.writestr("padding.csv", b"0" * (64 << 20))  # 64 MiB of zeros compress ~1000x
    with pytest.raises(FetchError) as refused:
        safe_extract_zip(archive, tmp_path / "out", source_id=WDI, file=archive.name)
    assert refused.value.rule == "zip_bomb" and "padding.csv" in str(refused.value)
    assert not (tmp_path / "out").exists()
    assert published_snapshot(baseline.data_dir / "marts") == baseline.snapshot
