"""Compile the expectations of a GX suite into DuckDB SQL, so a large table is validated where it lives.

A suite stays defined once, in suites.py, as GX expectation objects; this module reads each one's type, kwargs and
row_condition and says, in SQL, which rows break it. It reproduces the pandas semantics GX Core 1.x applies
(great_expectations/expectations/metrics/..., execution_engine/pandas_execution_engine.py):

- column map rules (not null, in set, between, regex, unique) look only at rows where the row_condition holds;
  all but "not null" then skip missing values, and "missing" is pandas' isnull(): NULL, and NaN in float columns;
- a compound key is unique unless two or more rows share it (every one of them fails, as duplicated(keep=False));
  rows whose key columns are all missing are ignored (ignore_row_if="all_values_are_missing", GX's default), and
  missing values compare equal, as in GROUP BY;
- row conditions: ==, <, <=, >, >=, is_in, is null, is not null, and/or; a row whose condition column is missing
  is left out, as pandas' query() does.

Anything else raises UnsupportedExpectation at compile time (an unknown expectation type, a kwarg the compiler
does not read such as mostly < 1, != and not-in conditions, whose null handling differs between pandas and SQL,
pandas query strings): a rule is never skipped. Two known differences remain, both documented where they
apply: regexes run on RE2 (DuckDB) instead of Python's re, and a rule that cannot be evaluated at all (wrong
types) reports the engine's own error text.

Names go through warehouse.identifier(); values are named parameters ($p3_0, ...), never spliced into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.base.warehouse import identifier

# what each expectation type may carry (kwargs outside this set raise); always ignorable: presentation and GX plumbing
KNOWN_KWARGS = {
    "expect_table_columns_to_match_ordered_list": {"column_list"},
    "expect_table_columns_to_match_set": {"column_set", "exact_match"},
    "expect_table_row_count_to_be_between": {"min_value", "max_value", "strict_min", "strict_max"},
    "expect_compound_columns_to_be_unique": {"column_list", "row_condition", "condition_parser", "ignore_row_if",
                                             "mostly"},
    "expect_column_values_to_be_unique": {"column", "row_condition", "condition_parser", "mostly"},
    "expect_column_values_to_not_be_null": {"column", "row_condition", "condition_parser", "mostly"},
    "expect_column_values_to_be_in_set": {"column", "value_set", "row_condition", "condition_parser", "mostly"},
    "expect_column_values_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max",
                                           "row_condition", "condition_parser", "mostly"},
    "expect_column_values_to_match_regex": {"column", "regex", "row_condition", "condition_parser", "mostly"},
    "expect_column_pair_values_a_to_be_greater_than_b": {"column_A", "column_B", "or_equal", "ignore_row_if",
                                                         "row_condition", "condition_parser", "mostly"},
}
IGNORED_KWARGS = {"result_format", "catch_exceptions", "meta", "notes", "description", "batch_id"}
FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL", "FLOAT4", "FLOAT8"}
TABLE_ALIAS = "t"


class UnsupportedExpectation(ValueError):
    """The compiler cannot reproduce this expectation's GX semantics in SQL: fail loudly, never skip it."""


@dataclass
class CompiledExpectation:
    """One expectation as SQL. kind: "columns" and "row_count" are decided from the table's columns and row count;
    "rows" fail where `failing` is true; "unique" fail where two or more rows of `domain` share `keys`."""

    type: str
    kind: str
    kwargs: dict
    failing: str | None = None
    domain: str | None = None
    keys: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)


def column(name: str) -> str:
    return f"{TABLE_ALIAS}.{identifier(name)}"


class Params:
    """Named query parameters ($<prefix>_<n>) collected while compiling."""

    def __init__(self, prefix: str):
        self.prefix, self.values = prefix, {}

    def add(self, value) -> str:
        name = f"{self.prefix}_{len(self.values)}"
        self.values[name] = value
        return f"${name}"

    def value_list(self, values, column_type: str) -> str:
        """A list parameter for `x IN (SELECT unnest(...))` (a hash join, not a scan of the list per row)."""
        values = [v for v in values if v is not None]  # pandas isin: a None in the set matches no present value
        kinds = {type(v) for v in values}
        if not kinds:
            sql_type = column_type
        elif kinds <= {str}:
            sql_type = "VARCHAR"
        elif kinds <= {bool}:
            sql_type = "BOOLEAN"
        elif kinds <= {int}:
            sql_type = "BIGINT"
        elif kinds <= {int, float}:
            sql_type = "DOUBLE"
        else:
            raise UnsupportedExpectation(f"value set of mixed types {sorted(k.__name__ for k in kinds)}")
        return f"(SELECT unnest(CAST({self.add(list(values))} AS {sql_type}[])))"


def missing(name: str, column_types: dict[str, str]) -> str:
    """pandas isnull(): NULL, and NaN in float columns (pandas reads both as NaN)."""
    if column_types.get(name, "").upper() in FLOAT_TYPES:
        return f"({column(name)} IS NULL OR isnan({column(name)}))"
    return f"({column(name)} IS NULL)"


def _condition(condition, column_types: dict[str, str], params: Params) -> str:
    if condition is None:
        return "TRUE"
    if isinstance(condition, str):
        raise UnsupportedExpectation(f"row_condition {condition!r}: pandas query strings are not compiled")
    if not isinstance(condition, dict):
        condition = condition.dict()
    kind = condition.get("type")
    if kind in ("and", "or"):
        parts = [_condition(c, column_types, params) for c in condition["conditions"]]
        return "(" + f" {kind.upper()} ".join(parts) + ")"
    name = condition["column"]["name"]
    if kind == "nullity":
        return missing(name, column_types) if condition["is_null"] else f"NOT {missing(name, column_types)}"
    if kind != "comparison":
        raise UnsupportedExpectation(f"row_condition of type {kind!r}")
    operator, value = condition["operator"], condition["parameter"]
    if operator == "IN":
        return f"({column(name)} IN {params.value_list(value, column_types.get(name, 'VARCHAR'))})"
    if operator in ("==", "<", "<=", ">", ">="):
        sql_operator = "=" if operator == "==" else operator
        return f"({column(name)} {sql_operator} {params.add(value)})"
    raise UnsupportedExpectation(f"row_condition operator {operator!r}: pandas and SQL treat missing values "
                                 "differently there")


def _between(name: str, kwargs: dict, params: Params) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        raise UnsupportedExpectation("min_value and max_value cannot both be None")
    parts = []
    if low is not None:
        parts.append(f"{column(name)} {'>' if kwargs.get('strict_min') else '>='} {params.add(low)}")
    if high is not None:
        parts.append(f"{column(name)} {'<' if kwargs.get('strict_max') else '<='} {params.add(high)}")
    return " AND ".join(parts)


def compile_expectation(expectation, column_types: dict[str, str], prefix: str = "p") -> CompiledExpectation:
    """An expectation (GX object or its ExpectationConfiguration) as SQL over the table aliased `t`."""
    config = getattr(expectation, "configuration", expectation)
    kind_of, kwargs = config.type, dict(config.kwargs)
    if kind_of not in KNOWN_KWARGS:
        raise UnsupportedExpectation(f"no SQL for expectation type {kind_of!r}; known: {sorted(KNOWN_KWARGS)}")
    unknown = {k for k, v in kwargs.items()
               if k not in KNOWN_KWARGS[kind_of] | IGNORED_KWARGS and v is not None}
    if unknown:
        raise UnsupportedExpectation(f"{kind_of}: kwargs {sorted(unknown)} are not compiled")
    if kwargs.get("mostly") not in (None, 1, 1.0):
        raise UnsupportedExpectation(f"{kind_of}: mostly={kwargs['mostly']} is not compiled")
    if kind_of.startswith("expect_table_columns"):
        return CompiledExpectation(kind_of, "columns", kwargs)
    if kind_of == "expect_table_row_count_to_be_between":
        return CompiledExpectation(kind_of, "row_count", kwargs)

    params = Params(prefix)
    condition = _condition(kwargs.get("row_condition"), column_types, params)
    if kind_of == "expect_compound_columns_to_be_unique":
        keys = tuple(kwargs["column_list"])
        ignore = kwargs.get("ignore_row_if") or "all_values_are_missing"
        present = [f"NOT {missing(k, column_types)}" for k in keys]
        if ignore == "all_values_are_missing":
            domain = f"{condition} AND ({' OR '.join(present)})"
        elif ignore == "any_value_is_missing":
            domain = f"{condition} AND {' AND '.join(present)}"
        elif ignore == "never":
            domain = condition
        else:
            raise UnsupportedExpectation(f"ignore_row_if={ignore!r}")
        return CompiledExpectation(kind_of, "unique", kwargs, domain=domain, keys=keys, params=params.values)

    if kind_of == "expect_column_pair_values_a_to_be_greater_than_b":
        return _column_pair(kind_of, kwargs, condition, column_types, params)

    name = kwargs["column"]
    column_type = column_types.get(name, "VARCHAR")
    present = f"NOT {missing(name, column_types)}"
    if kind_of == "expect_column_values_to_be_unique":
        return CompiledExpectation(kind_of, "unique", kwargs, domain=f"{condition} AND {present}", keys=(name,),
                                   params=params.values)
    if kind_of == "expect_column_values_to_not_be_null":
        failing = f"{condition} AND {missing(name, column_types)}"
    elif kind_of == "expect_column_values_to_be_in_set":
        if kwargs.get("value_set") is None:  # GX: vacuously true
            failing = "FALSE"
        else:
            failing = f"{condition} AND {present} AND NOT ({column(name)} IN " \
                      f"{params.value_list(kwargs['value_set'], column_type)})"
    elif kind_of == "expect_column_values_to_be_between":
        failing = f"{condition} AND {present} AND NOT ({_between(name, kwargs, params)})"
    else:  # expect_column_values_to_match_regex: pandas str.contains, i.e. a search, not a full match
        if column_type.upper() != "VARCHAR":  # pandas would match str(value): Python's spelling, not DuckDB's
            raise UnsupportedExpectation(f"regex on column {name!r} of type {column_type}: only text is compiled")
        failing = f"{condition} AND {present} AND NOT regexp_matches(CAST({column(name)} AS VARCHAR), " \
                  f"{params.add(kwargs['regex'])})"
    return CompiledExpectation(kind_of, "rows", kwargs, failing=failing, params=params.values)


def _column_pair(kind_of: str, kwargs: dict, condition: str, column_types: dict[str, str],
                 params: Params) -> CompiledExpectation:
    """A >= B (or A > B) on the rows where neither is missing: GX drops those rows first (either_value_is_missing),
    so NaN's ordering, which differs between pandas and DuckDB, never matters. The other ignore_row_if modes
    compare a missing value, where the engines disagree: refused."""
    if kwargs.get("ignore_row_if") != "either_value_is_missing":
        raise UnsupportedExpectation(f"{kind_of}: ignore_row_if={kwargs.get('ignore_row_if')!r} is not compiled; "
                                     "use either_value_is_missing")
    a, b = kwargs["column_A"], kwargs["column_B"]
    operator = ">=" if kwargs.get("or_equal") else ">"
    failing = f"{condition} AND NOT {missing(a, column_types)} AND NOT {missing(b, column_types)} " \
              f"AND NOT ({column(a)} {operator} {column(b)})"
    return CompiledExpectation(kind_of, "rows", kwargs, failing=failing, params=params.values)


def columns_read(expectation) -> list[str]:
    """The columns a row-level expectation reads (its column or key, and its condition's): both paths report a
    rule whose column is missing as not evaluable, naming the column."""
    config = getattr(expectation, "configuration", expectation)
    if config.type.startswith("expect_table_"):
        return []
    if "column" in config.kwargs:
        names = [config.kwargs["column"]]
    elif "column_A" in config.kwargs:
        names = [config.kwargs["column_A"], config.kwargs["column_B"]]
    else:
        names = list(config.kwargs.get("column_list") or [])
    _condition_names(config.kwargs.get("row_condition"), names)
    return list(dict.fromkeys(names))


def _condition_names(condition, names: list[str]) -> None:
    if condition is None or isinstance(condition, str):
        return
    if not isinstance(condition, dict):
        condition = condition.dict()
    for part in condition.get("conditions") or []:
        _condition_names(part, names)
    if "column" in condition:
        names.append(condition["column"]["name"])
