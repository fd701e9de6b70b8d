"""Expectation suites, defined in code (GX Core 1.x): one generic suite per staged source, built from the registry,
and one per mart. Each expectation carries `meta.rule` (the name a failure is reported under; its severity comes
from config/validation.yaml) and `meta.message` (what the rule requires, in words).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.sources.registry import Source
from pipelines.validation.config import ValidationConfig, current_year

# The contract columns of the fact tables (README); marts may carry more (flags), staged tables exactly STAGED_COLUMNS.
FACT_COLUMNS = [
    "source_id", "indicator_id", "source_code", "iso3", "period", "year", "value", "unit", "note",
    "is_partial_year", "is_provisional", "is_secondary", "raw_file", "raw_sha256", "raw_row",
]
AGGREGATE_COLUMNS = [
    "source_id", "indicator_id", "source_code", "entity_code", "entity_name", "recognised_by", "period", "year",
    "value", "unit", "raw_file", "raw_sha256", "raw_row",
]
COUNTRY_KEY = ["source_id", "indicator_id", "iso3", "period"]
AGGREGATE_KEY = ["source_id", "indicator_id", "entity_code", "entity_name", "period"]
LINEAGE = ["raw_file", "raw_sha256", "raw_row"]
BOUND_TOLERANCE = 1e-9  # relative slack of model_checks `between` bounds, for float rounding only
MARTS = ("fct_indicator_values", "fct_aggregate_values", "dim_indicators", "dim_sources", "dim_countries")


@dataclass
class SuiteSpec:
    """A GX suite plus what the runner needs to name failing rows."""

    name: str  # the table validated: stg_<source_id> or a mart
    suite: object  # great_expectations.ExpectationSuite
    index_columns: list[str]  # reported for every failing row: lineage first, then the cell
    source_id: str | None = None


def _rule(expectation, rule: str, message: str):
    expectation.meta = {**(expectation.meta or {}), "rule": rule, "message": message}
    expectation.description = f"**{rule}**: {message}"
    return expectation


def _fmt(bound) -> str:
    if bound is None or pd.isna(bound):
        return "∞"
    return f"{bound:g}"


def _common(gxe, name: str, columns: list[str], config: ValidationConfig, *, exact_columns: bool = True) -> list:
    low, high = config.row_count_bounds(name)
    rules = [_rule(gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high), "row_count",
                   f"{name} has between {low} and {high} rows (config/validation.yaml row_counts)")]
    if exact_columns:
        rules.insert(0, _rule(gxe.ExpectTableColumnsToMatchOrderedList(column_list=list(columns)), "expected_columns",
                              f"columns are exactly {columns}"))
    else:
        rules.insert(0, _rule(gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=False),
                              "expected_columns", f"columns include {columns}"))
    return rules


def staged_suite(source: Source, *, indicators: pd.DataFrame, country_codes: list[str],
                 config: ValidationConfig) -> SuiteSpec:
    """The generic suite of `stg_<source_id>`: its parameters come from the registry and ref tables, not code."""
    import great_expectations as gx
    from great_expectations import expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    from pipelines.staging.stage import STAGED_COLUMNS

    name = f"stg_{source.source_id}"
    country = Column("is_aggregate") == False  # noqa: E712 - a GX condition, not a Python comparison
    aggregate = Column("is_aggregate") == True  # noqa: E712
    first, last = source.year_range
    this_year = current_year()
    rules = _common(gxe, name, STAGED_COLUMNS, config)
    rules += [
        _rule(gxe.ExpectCompoundColumnsToBeUnique(column_list=COUNTRY_KEY, row_condition=country), "unique_keys",
              f"one row per {tuple(COUNTRY_KEY)} among country rows"),
        _rule(gxe.ExpectCompoundColumnsToBeUnique(column_list=AGGREGATE_KEY, row_condition=aggregate), "unique_keys",
              f"one row per {tuple(AGGREGATE_KEY)} among aggregate rows"),
        _rule(gxe.ExpectColumnValuesToNotBeNull(column="iso3", row_condition=country), "iso3_not_null",
              "every non-aggregate row has an ISO3 code"),
        _rule(gxe.ExpectColumnValuesToBeInSet(column="iso3", value_set=sorted(country_codes), row_condition=country),
              "iso3_known", "every non-aggregate iso3 is in ref_countries"),
        _rule(gxe.ExpectColumnValuesToBeBetween(column="year", min_value=first, max_value=last), "year_in_range",
              f"year within the documented year_range {first}-{last} (config/sources/{source.source_id}.yaml)"),
        _rule(gxe.ExpectColumnValuesToBeBetween(column="year", max_value=this_year), "year_not_in_future",
              f"year is not after the current year {this_year}"),
        _rule(gxe.ExpectColumnValuesToNotBeNull(column="value"), "value_not_null", "every row has a value"),
    ]
    for column in ("indicator_id", "period", "is_aggregate"):
        rules.append(_rule(gxe.ExpectColumnValuesToNotBeNull(column=column), "keys_not_null",
                           f"every row has {column}"))
    for column in LINEAGE:
        rules.append(_rule(gxe.ExpectColumnValuesToNotBeNull(column=column), "lineage_present",
                           f"every row names its {column}"))
    registered = sorted(indicators["indicator_id"]) if len(indicators) else []
    if registered:
        rules.append(_rule(gxe.ExpectColumnValuesToBeInSet(column="indicator_id", value_set=registered),
                           "indicator_registered",
                           f"every indicator is described in config/sources/{source.source_id}.yaml"))
    rules += _range_rules(gxe, Column, indicators)
    suite = gx.ExpectationSuite(name=name, expectations=rules,
                                meta={"source_id": source.source_id, "publisher": source.publisher})
    return SuiteSpec(name, suite, ["raw_file", "raw_row", "indicator_id", "entity_code", "iso3", "period"],
                     source.source_id)


def _range_rules(gxe, Column, indicators: pd.DataFrame) -> list:
    """valid_min/valid_max from ref_indicators, one expectation per distinct range (shares 0-100, counts >= 0...)."""
    rules = []
    if not len(indicators):
        return rules
    frame = indicators.assign(
        low=indicators["valid_min"].astype("float64"), high=indicators["valid_max"].astype("float64"))
    frame = frame[frame["low"].notna() | frame["high"].notna()]
    for (low, high), group in frame.groupby(["low", "high"], dropna=False, sort=True):
        low = None if pd.isna(low) else float(low)
        high = None if pd.isna(high) else float(high)
        ids = sorted(group["indicator_id"])
        kinds = ", ".join(sorted(set(group["kind"])))
        rules.append(_rule(
            gxe.ExpectColumnValuesToBeBetween(column="value", min_value=low, max_value=high,
                                              row_condition=Column("indicator_id").is_in(ids)),
            "value_in_valid_range",
            f"value within [{_fmt(low)}, {_fmt(high)}] ({kinds}: {', '.join(ids)})",
        ))
    return rules


def mart_suite(table: str, *, country_codes: list[str], source_ids: list[str], config: ValidationConfig) -> SuiteSpec:
    """The suite of one published table."""
    import great_expectations as gx
    from great_expectations import expectations as gxe

    from pipelines.staging.reference import INDICATOR_KINDS

    this_year = current_year()
    if table == "fct_indicator_values":
        rules = _common(gxe, table, FACT_COLUMNS, config, exact_columns=False) + [
            _rule(gxe.ExpectCompoundColumnsToBeUnique(column_list=COUNTRY_KEY), "unique_keys",
                  f"one row per {tuple(COUNTRY_KEY)}"),
            _rule(gxe.ExpectColumnValuesToNotBeNull(column="iso3"), "iso3_not_null", "every fact has an ISO3 code"),
            _rule(gxe.ExpectColumnValuesToBeInSet(column="iso3", value_set=sorted(country_codes)), "iso3_known",
                  "every iso3 is in ref_countries"),
            _rule(gxe.ExpectColumnValuesToBeInSet(column="source_id", value_set=sorted(source_ids)),
                  "source_registered", "every fact comes from a registered source"),
            _rule(gxe.ExpectColumnValuesToNotBeNull(column="value"), "value_not_null", "every fact has a value"),
            _rule(gxe.ExpectColumnValuesToNotBeNull(column="period_start"), "period_parsed",
                  "every period is a year, quarter (YYYY-Qn), half-year (YYYY-Hn) or month (YYYY-MM): period_start"),
            _rule(gxe.ExpectColumnValuesToBeBetween(column="year", max_value=this_year), "year_not_in_future",
                  f"year is not after the current year {this_year}"),
            *[_rule(gxe.ExpectColumnValuesToNotBeNull(column=c), "lineage_present", f"every fact names its {c}")
              for c in LINEAGE],
        ]
        index = ["raw_file", "raw_row", "source_id", "indicator_id", "iso3", "period"]
    elif table == "fct_aggregate_values":
        rules = _common(gxe, table, AGGREGATE_COLUMNS, config, exact_columns=False) + [
            _rule(gxe.ExpectCompoundColumnsToBeUnique(column_list=AGGREGATE_KEY), "unique_keys",
                  f"one row per {tuple(AGGREGATE_KEY)}"),
            _rule(gxe.ExpectColumnValuesToNotBeNull(column="value"), "value_not_null", "every aggregate has a value"),
            *[_rule(gxe.ExpectColumnValuesToNotBeNull(column=c), "lineage_present", f"every row names its {c}")
              for c in LINEAGE],
        ]
        index = ["raw_file", "raw_row", "source_id", "indicator_id", "entity_code", "period"]
    elif table == "dim_indicators":
        rules = _common(gxe, table, ["source_id", "indicator_id", "kind", "valid_min", "valid_max"],
                        config, exact_columns=False) + [
            _rule(gxe.ExpectCompoundColumnsToBeUnique(column_list=["source_id", "indicator_id"]), "unique_keys",
                  "one row per (source_id, indicator_id)"),
            _rule(gxe.ExpectColumnValuesToNotBeNull(column="kind"), "dim_indicator_registered",
                  "every observed indicator has registry metadata (kind, valid range)"),
            _rule(gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=sorted(INDICATOR_KINDS)), "kind_known",
                  f"kind is one of {sorted(INDICATOR_KINDS)}"),
        ]
        index = ["source_id", "indicator_id"]
    elif table == "dim_sources":
        rules = _common(gxe, table, ["source_id", "publisher", "licence", "vintage", "n_country_values"], config,
                        exact_columns=False) + [
            _rule(gxe.ExpectColumnValuesToBeUnique(column="source_id"), "unique_keys", "one row per source_id"),
            *[_rule(gxe.ExpectColumnValuesToNotBeNull(column=c), "source_documented", f"every source has a {c}")
              for c in ("publisher", "licence", "vintage")],
            _rule(gxe.ExpectColumnValuesToBeBetween(column="n_country_values", min_value=1), "source_reaches_facts",
                  "every registered source contributes country facts"),
        ]
        index = ["source_id"]
    elif table == "dim_countries":
        rules = _common(gxe, table, ["iso3", "name", "wb_region", "wb_income_group"], config,
                        exact_columns=False) + [
            _rule(gxe.ExpectColumnValuesToBeUnique(column="iso3"), "unique_keys", "one row per iso3"),
            _rule(gxe.ExpectColumnValuesToMatchRegex(column="iso3", regex=r"^[A-Z]{3}$"), "iso3_format",
                  "iso3 is three capital letters"),
            _rule(gxe.ExpectColumnValuesToNotBeNull(column="name"), "country_named", "every country has a name"),
        ]
        index = ["iso3"]
    elif config.table_rules(table):
        return model_suite(table, config)
    else:
        raise KeyError(f"no suite for table {table!r}; known: {MARTS} and config/validation.yaml model_checks")
    return SuiteSpec(table, gx.ExpectationSuite(name=table, expectations=rules), index)


def model_suite(table: str, config: ValidationConfig) -> SuiteSpec:
    """The suite of an intermediate or mart table, from its rules in config/validation.yaml `model_checks`: the
    invariants readers rely on (keys unique, scores 0-100, rank bands ordered...), one expectation per rule.
    The `sql` rules are checks of their own (sql/checks/<table>__<rule>.sql), not part of the suite."""
    import great_expectations as gx
    from great_expectations import expectations as gxe

    rules_config = config.table_rules(table)
    keys = [list(key) for key in rules_config.get("unique") or []]
    ordered = [tuple(pair) for pair in rules_config.get("ordered") or []]
    between = dict(rules_config.get("between") or {})
    in_set = dict(rules_config.get("in_set") or {})
    not_null = list(rules_config.get("not_null") or [])
    named = [*(c for key in keys for c in key), *not_null, *between, *in_set, *(c for pair in ordered for c in pair)]
    columns = list(dict.fromkeys(named))
    rules = [_rule(gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=False), "expected_columns",
                   f"columns include {columns}")]
    if "rows" in rules_config:
        low, high = rules_config["rows"]
        rules.append(_rule(gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high), "row_count",
                           f"{table} has between {_fmt(low)} and {_fmt(high)} rows (config/validation.yaml)"))
    for key in keys:
        expectation = gxe.ExpectColumnValuesToBeUnique(column=key[0]) if len(key) == 1 else \
            gxe.ExpectCompoundColumnsToBeUnique(column_list=key)
        rules.append(_rule(expectation, "unique_keys", f"one row per {tuple(key) if len(key) > 1 else key[0]}"))
    rules += [_rule(gxe.ExpectColumnValuesToNotBeNull(column=c), "not_null", f"every row has {c}")
              for c in not_null]
    for column, (low, high) in between.items():
        # float rounding: min-max scaling can land a hair outside its own range (100.00000000000001)
        rules.append(_rule(gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=None if low is None else low - BOUND_TOLERANCE * max(1, abs(low)),
            max_value=None if high is None else high + BOUND_TOLERANCE * max(1, abs(high))),
            "within_bounds", f"{column} within [{_fmt(low)}, {_fmt(high)}] (up to float rounding)"))
    for column, values in in_set.items():
        rules.append(_rule(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values)), "known_values",
                           f"{column} is one of {list(values)}"))
    for low, high in ordered:
        rules.append(_rule(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A=high, column_B=low, or_equal=True,
                                                        ignore_row_if="either_value_is_missing"),
            "ordered", f"{low} <= {high} where both are present"))
    index = [c for c in ("iso3", "key", "indicator_key", "pillar", "scope", "group_id", "level", "item", "setting",
                         "index_key", "year") if c in columns or c in (keys[0] if keys else [])]
    return SuiteSpec(table, gx.ExpectationSuite(name=table, expectations=rules), index or columns[:2])
