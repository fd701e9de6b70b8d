"""Validation suites, release checks and raw screening against small hand-made fixtures (no build)."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from pipelines.sources.registry import load_registry
from pipelines.staging.stage import STAGED_COLUMNS
from pipelines.validation.config import ValidationConfig, current_year, load_config

WDI_FILE = "worldbank_wdi/raw/datahub_world-development-indicators/it.net.user.zs/data.csv"


def _row(raw_row, *, indicator="it_net_user_zs", iso3="JPN", period="2020", value=80.0, aggregate=False,
         entity_code=None, source_id="worldbank_wdi", raw_file=WDI_FILE) -> dict:
    return {
        "source_id": source_id, "indicator_id": indicator, "source_code": indicator.upper(), "indicator_name": "x",
        "unit": "u", "entity_name": iso3 or "Somewhere", "entity_code": entity_code or iso3, "iso3": iso3,
        "is_aggregate": aggregate, "matched_by": "iso3_code", "period": period,
        "year": int(period[:4]) if period else None, "value": value, "note": None,
        "raw_file": raw_file, "raw_sha256": "0" * 64, "raw_row": str(raw_row),
    }


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in STAGED_COLUMNS:
        if column not in frame:
            frame[column] = False if column.startswith("is_") else None  # flags added to the contract later
    frame = frame[STAGED_COLUMNS]
    frame["iso3"] = frame["iso3"].astype("string")
    return frame


def _config(**overrides) -> ValidationConfig:
    base = load_config()
    return ValidationConfig(
        focus_country_override="JPN", severity=base.severity,
        row_counts=overrides.get("row_counts", {"default": {"min": 1, "max": 1000}}),
        release=overrides.get("release", base.release), max_samples=10,
        known_exceptions=base.known_exceptions,
    )


def _run_staged(frame: pd.DataFrame, config: ValidationConfig, tmp_path=None, run_name="t"):
    from pipelines.staging import reference
    from pipelines.validation.runner import run_suite
    from pipelines.validation.suites import staged_suite

    registry = load_registry()
    source = registry["worldbank_wdi"]
    spec = staged_suite(source, indicators=reference.ref_indicators({"worldbank_wdi": source}),
                        country_codes=sorted(reference.ref_countries()["iso3"]), config=config)
    return run_suite(spec, frame, config=config, docs_dir=tmp_path, run_name=run_name)


@pytest.fixture(scope="module")
def wdi_only():
    mp = pytest.MonkeyPatch()
    mp.setenv("AI_READINESS_SOURCES", "worldbank_wdi")
    mp.delenv("AI_READINESS_REGISTRY_DIR", raising=False)
    yield
    mp.undo()


def test_good_staged_rows_pass(wdi_only, tmp_path):
    frame = _frame([_row(2), _row(3, period="2021", value=82.0), _row(4, iso3=None, entity_code="WLD",
                                                                    aggregate=True, value=60.0)])
    outcome = _run_staged(frame, _config(), tmp_path / "docs")
    assert outcome.passed and not outcome.failures, outcome.lines()
    assert outcome.rules_checked >= 15
    assert (tmp_path / "docs" / "index.html").is_file()


def test_each_broken_rule_is_named_with_file_row_and_value(wdi_only):
    this_year = current_year()
    frame = _frame([
        _row(2),
        _row(3),  # same key as row 2
        _row(4, iso3="XXX", period="2019"),
        _row(5, iso3=None, entity_code="ZZZ", period="2018"),
        _row(6, period=str(this_year + 3), value=50.0),
        _row(7, period="1950", value=1.0),
        _row(8, period="2017", value=None),
        _row(9, period="2016", value=150.0),
        _row(10, indicator="sp_pop_totl", period="2016", value=-3.0),
        _row(11, indicator="not_in_registry", period="2016", value=1.0),
    ])
    outcome = _run_staged(frame, _config())
    failed, samples = {}, {}
    for f in outcome.failures:  # a rule may fail in several expectations (one per valid range)
        failed[f.rule] = f
        samples.setdefault(f.rule, []).extend(f.samples)
    expected_rows = {
        "unique_keys": {"2", "3"}, "iso3_known": {"4"}, "iso3_not_null": {"5"}, "year_not_in_future": {"6"},
        "year_in_range": {"6", "7"}, "value_not_null": {"8"}, "value_in_valid_range": {"9", "10"},
        "indicator_registered": {"11"},
    }
    assert set(expected_rows) <= set(failed), outcome.lines()
    for rule, rows in expected_rows.items():
        assert {s["raw_row"] for s in samples[rule]} == rows, rule
        assert all(s["raw_file"] == WDI_FILE and s["row"] == f"{WDI_FILE}:{s['raw_row']}" for s in samples[rule])
    assert not outcome.passed and outcome.severity == "ERROR"
    assert not failed["indicator_registered"].blocking and failed["value_in_valid_range"].blocking
    range_values = {s["values"]["value"] for s in samples["value_in_valid_range"]}
    assert range_values == {150.0, -3.0}
    line = next(line for line in outcome.lines() if "rule=value_in_valid_range" in line and "[0, 100]" in line)
    assert line.startswith(f"ERROR rule=value_in_valid_range source=worldbank_wdi file={WDI_FILE} row=9 column=value")
    assert "value=150.0 [it_net_user_zs JPN 2016]" in line


def test_failed_rules_alone_are_rerun_for_their_rows_and_docs_keep_one_page(wdi_only, tmp_path):
    """The suite runs with BASIC results; only the failed rules run again (COMPLETE) to find their rows, outside
    the results store: one Data Docs page per suite, and it shows every rule, passed or failed."""
    import json

    from pipelines.validation.runner import gx_context

    outcome = _run_staged(_frame([_row(2), _row(3, iso3="XXX"), _row(4, period="2019", value=150.0)]), _config(),
                          tmp_path / "docs", run_name="one_failing_suite")
    assert {f.rule: {s["raw_row"] for s in f.samples} for f in outcome.failures} == \
        {"iso3_known": {"3"}, "value_in_valid_range": {"4"}}, outcome.lines()
    store = gx_context().validation_results_store
    (key,) = store.list_keys()
    stored = store.get(key)
    assert len(stored.results) == outcome.rules_checked and not stored.success
    assert all("unexpected_index_list" not in (evr.result or {}) for evr in stored.results)  # the BASIC result
    pages = list((tmp_path / "docs" / "validations").rglob("*.html"))
    assert len(pages) == 1 and "failed_rows" not in json.dumps([str(p) for p in pages])


def test_gx_memos_build_each_configuration_and_row_filter_once_and_end_with_the_block():
    """The memos that save GX rebuilding a rule's configuration on every access and re-filtering the batch for
    every metric: one build per expectation (a changed one rebuilt), one filter per frame and condition, and GX's
    own methods back after the block (also after an error in it)."""
    import great_expectations as gx
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.row_conditions import Column

    from pipelines.validation.runner import gx_memoised

    original = Expectation.__dict__["configuration"], PandasExecutionEngine.__dict__["_apply_row_condition_filter"]
    rule = gx.expectations.ExpectColumnValuesToNotBeNull(column="value")
    engine, frame = PandasExecutionEngine(), pd.DataFrame({"iso3": ["JPN", "KOR", "JPN"], "value": [1.0, 2.0, 3.0]})
    japan, korea = Column("iso3") == "JPN", Column("iso3") == "KOR"
    with gx_memoised():
        first = rule.configuration
        assert rule.configuration is first  # built once
        rule.column = "iso3"
        assert rule.configuration is not first and rule.configuration.kwargs["column"] == "iso3"
        rows = engine._apply_row_condition_filter(frame, japan, {})
        assert engine._apply_row_condition_filter(frame, japan, {}) is rows and list(rows["value"]) == [1.0, 3.0]
        assert list(engine._apply_row_condition_filter(frame, korea, {})["value"]) == [2.0]
        assert list(engine._apply_row_condition_filter(frame.iloc[1:], japan, {})["value"]) == [3.0]
    assert (Expectation.__dict__["configuration"], PandasExecutionEngine.__dict__["_apply_row_condition_filter"]) \
        == original and "__setattr__" not in Expectation.__dict__
    assert rule.configuration is not rule.configuration  # GX's behaviour again: a new object per access
    assert engine._apply_row_condition_filter(frame, japan, {}) is not engine._apply_row_condition_filter(
        frame, japan, {})
    with pytest.raises(RuntimeError), gx_memoised():
        raise RuntimeError("a rule failed to evaluate")
    assert Expectation.__dict__["configuration"] is original[0]
    assert PandasExecutionEngine.__dict__["_apply_row_condition_filter"] is original[1]


def test_a_reviewed_exception_is_accepted_not_failed(wdi_only):
    frame = _frame([_row(700, indicator="bx_gsr_royl_cd", iso3="BTN", period="2024", value=-8581.4),
                    _row(701, indicator="bx_gsr_royl_cd", iso3="BTN", period="2023", value=-1.0)])
    outcome = _run_staged(frame, _config())
    assert [s["raw_row"] for s in outcome.accepted] == ["700"]
    (failure,) = outcome.failures
    assert failure.rule == "value_in_valid_range" and failure.count == 1 and failure.samples[0]["raw_row"] == "701"


def test_missing_column_and_row_count_are_table_level_failures(wdi_only):
    frame = _frame([_row(2)]).drop(columns=["note"])
    outcome = _run_staged(frame, _config(row_counts={"default": {"min": 5, "max": 10}}))
    rules = {f.rule: f for f in outcome.failures}
    assert "missing ['note']" in rules["expected_columns"].message
    assert "got 1" in rules["row_count"].message and rules["row_count"].blocking


def test_only_soft_failures_pass_with_warn(wdi_only):
    outcome = _run_staged(_frame([_row(2, indicator="unregistered_thing")]), _config())
    assert outcome.passed and outcome.severity == "WARN"
    assert [f.rule for f in outcome.failures] == ["indicator_registered"]


def test_data_docs_show_the_latest_run_only(wdi_only, tmp_path):
    docs = tmp_path / "docs"
    _run_staged(_frame([_row(2)]), _config(), docs, run_name="first")
    first_pages = set(docs.rglob("*.html"))
    _run_staged(_frame([_row(2)]), _config(), docs, run_name="second")
    assert (docs / "index.html").is_file() and not (first_pages - {docs / "index.html"}) & set(docs.rglob("*.html"))


def test_mart_suite_flags_duplicate_facts(wdi_only):
    from pipelines.staging.reference import ref_countries
    from pipelines.validation.runner import run_suite
    from pipelines.validation.suites import FACT_COLUMNS, mart_suite

    fact = _frame([_row(2)]).iloc[0].to_dict()
    columns = [c for c in fact if c in FACT_COLUMNS or c.startswith("is_")]
    frame = pd.DataFrame([fact, {**fact, "raw_row": "3"}])[columns].assign(period_start=datetime.date(2020, 1, 1))
    config = _config()
    spec = mart_suite("fct_indicator_values", country_codes=sorted(ref_countries()["iso3"]),
                      source_ids=["worldbank_wdi"], config=config)
    outcome = run_suite(spec, frame, config=config)
    (failure,) = outcome.failures
    assert failure.rule == "unique_keys" and {s["raw_row"] for s in failure.samples} == {"2", "3"}


# --- release checks ----------------------------------------------------------------------------------------------


def _facts(rows):
    frame = pd.DataFrame(rows, columns=["source_id", "indicator_id", "iso3", "period", "value", "raw_file", "raw_row"])
    return frame.assign(raw_sha256=frame["raw_file"].map(lambda f: f"sha-of-{f}"))


def _warehouse(path, facts: pd.DataFrame):
    import duckdb

    connection = duckdb.connect(str(path))
    try:
        connection.register("f", facts)
        connection.execute("CREATE TABLE fct_indicator_values AS SELECT * FROM f")
    finally:
        connection.close()
    return path


def _cells(countries, indicator="ind_a", periods=("2020", "2021"), value=10.0, file="src/raw/a.csv"):
    return [("src", indicator, c, p, value, file, str(i + 2)) for i, (c, p) in
            enumerate((c, p) for c in countries for p in periods)]


def test_release_checks_coverage_focus_country_and_value_moves(tmp_path):
    from pipelines.validation.release import release_checks

    countries = [f"C{i:02d}" for i in range(40)] + ["JPN"]
    published = _warehouse(tmp_path / "published.duckdb", _facts(
        _cells(countries) + _cells(["JPN", "USA"], indicator="ind_b", file="src/raw/b.csv")))
    kept = [c for c in countries if c not in {"C01", "C02", "C03"}]  # 3 of 41 lost: 7% > 5%
    build_rows = _cells(kept) + _cells(["USA"], indicator="ind_b", value=250.0, file="src/raw/b.csv")
    build = _warehouse(tmp_path / "build.duckdb", _facts(build_rows))

    outcomes = release_checks(build, published, ["src"], _config())
    coverage = outcomes["release_coverage"]
    rules = sorted(f.rule for f in coverage.failures)
    assert "release_coverage_countries" in rules and not coverage.passed
    lost = next(f for f in coverage.failures if f.rule == "release_coverage_countries" and "src/ind_a" in f.message)
    assert "C01, C02, C03" in lost.message and lost.samples[0]["raw_file"] == "src/raw/a.csv"
    focus = outcomes["release_focus_country"]
    assert not focus.passed and "JPN lost 2 value(s)" in focus.failures[0].message and "ind_b 2020, 2021" in \
        focus.failures[0].message
    moves = outcomes["release_value_moves"]  # USA's ind_b x25: blocking, with both values and rows
    assert not moves.passed and moves.severity == "ERROR"
    (moved,) = moves.failures
    assert moved.rule == "release_value_moved" and moved.count == 2
    sample = moved.samples[0]
    assert sample["values"]["value"] == 250.0 and sample["values"]["last_value"] == 10.0
    assert sample["raw_file"] == "src/raw/b.csv" and sample["last_row"].startswith("src/raw/b.csv:")


def _moves(tmp_path, last: list[tuple], new: list[tuple], snapshot_files=None, name="w"):
    """release_value_moves of `new` facts against `last` ones: (iso3, period, value) of src/ind_a."""
    from pipelines.validation.release import release_checks

    def facts(cells, file):
        return _facts([("src", "ind_a", c, p, v, file, str(i + 2)) for i, (c, p, v) in enumerate(cells)])

    published = _warehouse(tmp_path / f"{name}_published.duckdb", facts(last, "src/raw/a.csv"))
    build = _warehouse(tmp_path / f"{name}_build.duckdb", facts(new, "src/raw/a.csv"))
    return release_checks(build, published, ["src"], _config(), only="release_value_moves",
                          snapshot_files=snapshot_files)["release_value_moves"]


# Japan and ten countries around 5 (the indicator's typical magnitude), one near zero, one zero
LAST = [("JPN", "2020", 4.03)] + [(f"C{i}", "2020", 4.0 + i * 0.25) for i in range(10)] + [
    ("TINY", "2020", 0.002), ("NIL", "2020", 0.0)]


def _with(cells, **changed):
    return [(c, p, changed.get(c, v)) for c, p, v in cells]


def test_a_x10_move_blocks_and_names_file_row_both_values_and_rule(tmp_path):
    new = _with(LAST, JPN=float("40.3"))  # 4.03 x 10, written as decimal text
    assert 40.3 / 4.03 < 10  # 9.999999999999998: still a x10
    moves = _moves(tmp_path, LAST, new)
    assert not moves.passed
    (failure,) = moves.failures
    assert failure.rule == "release_value_moved" and failure.blocking and failure.count == 1
    (line,) = failure.lines()
    assert "rule=release_value_moved source=src file=src/raw/a.csv row=2" in line
    assert "value=40.3" in line and "last_value=4.03" in line and "[ind_a JPN 2020]" in line
    assert "from the registered file" in line  # no snapshot holds these bytes: nothing to accept


def test_modest_revisions_near_zero_noise_zeros_and_new_cells_do_not_block(tmp_path):
    new = _with(LAST, C1=4.25 * 1.5, TINY=0.05, NIL=3.0) + [("NEW", "2020", 400.0), ("C2", "2021", 90.0)]
    moves = _moves(tmp_path, LAST, new)
    # x1.5 is a revision; 0.002 -> 0.05 is x25 but a change of 0.048, under 10% of the median 4.875; 0 -> 3 has
    # no ratio; NEW and C2 2021 have no last value
    assert moves.passed and not moves.failures


def test_a_x4_move_warns_and_publishes(tmp_path):
    moves = _moves(tmp_path, LAST, _with(LAST, C0=16.0))  # 4.0 -> 16.0
    assert moves.passed and moves.severity == "WARN"
    (failure,) = moves.failures
    assert failure.rule == "release_value_moved_warn" and failure.samples[0]["values"]["factor"] == 4.0


def test_a_move_from_an_accepted_vintage_warns_and_a_held_one_names_the_accept_command(tmp_path):
    snapshot = {"source_id": "src", "vintage": "2026-12-03T060000Z", "path": "raw/a.csv",
                "sha256": "sha-of-src/raw/a.csv", "status": "held", "accepted": None}
    new = _with(LAST, JPN=40.3)
    held = _moves(tmp_path, LAST, new, [snapshot], name="held")
    assert not held.passed
    assert "ai-readiness vintages accept src 2026-12-03T060000Z" in held.failures[0].message
    assert held.failures[0].samples[0]["vintage"] == "2026-12-03T060000Z"
    accepted = {**snapshot, "status": "candidate", "accepted": {"at": "2026-12-03T07:00:00+00:00", "reason": "r"}}
    released = _moves(tmp_path, LAST, new, [accepted], name="accepted")
    assert released.passed and [f.rule for f in released.failures] == ["release_value_moved_accepted"]
    other_bytes = {**accepted, "sha256": "sha-of-another-file"}  # accepting covers exactly the bytes reviewed
    assert not _moves(tmp_path, LAST, new, [other_bytes], name="other").passed


def test_release_checks_pass_without_a_previous_release(tmp_path):
    from pipelines.validation.release import release_checks

    build = _warehouse(tmp_path / "build.duckdb", _facts(_cells(["JPN"])))
    outcomes = release_checks(build, tmp_path / "nothing.duckdb", ["src"], _config())
    assert all(o.passed and not o.failures and "first release" in o.note for o in outcomes.values())


def test_sources_not_built_are_a_warning(tmp_path):
    from pipelines.validation.release import release_checks

    published = _warehouse(tmp_path / "published.duckdb", _facts(
        _cells(["JPN"]) + [("other", "x", "JPN", "2020", 1.0, "other/raw/x.csv", "2")]))
    build = _warehouse(tmp_path / "build.duckdb", _facts(_cells(["JPN"])))
    coverage = release_checks(build, published, ["src"], _config(), only="release_coverage")["release_coverage"]
    (failure,) = coverage.failures
    assert failure.rule == "release_source_not_built" and not failure.blocking and coverage.passed


# --- raw screening, config, registry --------------------------------------------------------------------------


def test_a_huge_line_is_refused_with_its_row(tmp_path):
    from pipelines.base.errors import ParseError
    from pipelines.staging.raw_screen import screen_text_file

    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n" + b"x" * 5000 + b"\n3,4\n")
    screen_text_file(path, max_line_bytes=10_000)
    with pytest.raises(ParseError) as refused:
        screen_text_file(path, max_line_bytes=4096, source_id="s", file="raw/data.csv")
    assert refused.value.row == 3 and refused.value.rule == "max_line_length"
    assert "[source=s, file=raw/data.csv, row=3, rule=max_line_length]" in str(refused.value)


def test_validation_config_is_consistent():
    config = load_config()
    assert config.is_blocking("unique_keys") and config.is_blocking("release_value_moved")
    assert not config.is_blocking("release_value_moved_warn") and not config.is_blocking("release_value_moved_accepted")
    assert config.focus_country == "JPN"
    registry_ids = {p.stem for p in (load_config.__globals__["CONFIG_DIR"] / "sources").glob("*.yaml")}
    staged = {t.removeprefix("stg_") for t in config.row_counts if t.startswith("stg_")}
    assert staged <= registry_ids, staged - registry_ids
    for entry in config.known_exceptions:
        assert entry["reason"].strip()


def test_registry_dir_env_points_the_loader_at_a_copy(tmp_path, monkeypatch):
    import shutil

    from pipelines.sources.registry import SOURCES_DIR

    shutil.copy(SOURCES_DIR / "worldbank_wdi.yaml", tmp_path / "worldbank_wdi.yaml")
    monkeypatch.setenv("AI_READINESS_REGISTRY_DIR", str(tmp_path))
    monkeypatch.delenv("AI_READINESS_SOURCES", raising=False)
    assert list(load_registry()) == ["worldbank_wdi"]


def test_duplicate_keys_check_lists_each_repeated_key_with_its_rows(tmp_path):
    """sql/checks/fct_indicator_values__duplicate_keys.sql: repeated keys (a missing iso3 repeats too, as in GROUP
    BY), most repeated first, each with its raw_file:raw_row list; nothing for unique keys."""
    import duckdb

    from pipelines.base.warehouse import sql_text

    facts = _facts([("src", "a", "JPN", "2020", 1.0, "f.csv", "2"), ("src", "a", "JPN", "2020", 1.0, "f.csv", "3"),
                    ("src", "a", None, "2020", 1.0, "f.csv", "4"), ("src", "a", None, "2020", 1.0, "f.csv", "5"),
                    ("src", "a", None, "2020", 1.0, "f.csv", "6"), ("src", "a", "USA", "2020", 1.0, "f.csv", "7")])
    connection = duckdb.connect(str(_warehouse(tmp_path / "w.duckdb", facts)), read_only=True)
    try:
        found = connection.execute(sql_text("checks", "fct_indicator_values__duplicate_keys")).fetchall()
    finally:
        connection.close()
    assert [(r[2], r[4], sorted(r[5].split("; "))) for r in found] == [
        (None, 3, ["f.csv:4", "f.csv:5", "f.csv:6"]), ("JPN", 2, ["f.csv:2", "f.csv:3"])]
