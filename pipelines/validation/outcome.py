"""The structured result of one validation: passed or not, and per failed rule the rows that broke it.

Every failing row is named `raw_file:raw_row` (the publisher's file and line), so a message can always say
source, file, row and rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR, WARN = "ERROR", "WARN"
# Columns that say which cell a failing row is (shown beside the offending value).
CONTEXT_COLUMNS = ("source_id", "indicator_id", "iso3", "entity_code", "entity_name", "period")


def _plain(value: Any) -> Any:
    """numpy/pandas scalars -> JSON-friendly Python values."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


@dataclass
class Failure:
    """One failed rule: how many rows, and samples of them with their lineage and offending values."""

    rule: str
    blocking: bool
    message: str  # what the rule requires, e.g. "value within [0, 100] (share_pct: it_net_user_zs, ...)"
    count: int  # failing rows (table-level rules: 1)
    column: str | None = None
    source_id: str | None = None  # the source a staged suite belongs to (rows of marts carry their own)
    samples: list[dict] = field(default_factory=list)  # {"row": "raw_file:raw_row", "raw_file", "raw_row", "values"}

    @property
    def severity(self) -> str:
        return ERROR if self.blocking else WARN

    def as_dict(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "column": self.column, "count": self.count,
                "message": self.message, "source_id": self.source_id, "samples": self.samples}

    def lines(self, max_rows: int = 10) -> list[str]:
        """One line per raw file the failing rows come from (one line for a table-level failure)."""
        head = f"rule={self.rule}"
        where_column = f" column={self.column}" if self.column else ""
        if not self.samples:
            source = f" source={self.source_id}" if self.source_id else ""
            return [f"{head}{source}{where_column}: {self.message}"]
        by_file: dict[tuple[str, str], list[dict]] = {}
        for sample in self.samples:
            source = sample["values"].get("source_id") or self.source_id or "?"
            by_file.setdefault((source, sample.get("raw_file") or "?"), []).append(sample)
        lines = []
        for (source, raw_file), samples in by_file.items():
            distinct = list(dict.fromkeys(str(s.get("raw_row")) for s in samples))
            rows = ",".join(distinct[:max_rows])
            more = f" (+{len(distinct) - max_rows} more)" if len(distinct) > max_rows else ""
            shown = "; ".join(_describe(s["values"], self.column) for s in samples[:3])
            lines.append(f"{head} source={source} file={raw_file} row={rows}{more}{where_column}: {self.message}; "
                         f"{self.count} failing row{'s' * (self.count != 1)} in all, e.g. {shown}")
        return lines


def _describe(values: dict, column: str | None) -> str:
    """`value=250.0 [it_net_user_zs JPN 2020]`: the offending value, then which cell it is."""
    context = []
    for c in CONTEXT_COLUMNS:
        v = values.get(c)
        if v is not None and c not in (column, "source_id") and str(v) not in context:
            context.append(str(v))
    offending = {k: v for k, v in values.items() if k not in CONTEXT_COLUMNS or k == column}
    shown = ", ".join(f"{k}={v!r}" for k, v in offending.items())
    if not shown:
        return f"[{' '.join(context)}]"
    return f"{shown} [{' '.join(context)}]" if context else shown


@dataclass
class Outcome:
    """What one suite (or release check) found. `passed` is False only when a blocking rule failed."""

    suite: str
    rows: int
    failures: list[Failure] = field(default_factory=list)
    accepted: list[dict] = field(default_factory=list)  # rows let through by a reviewed known exception
    rules_checked: int = 0
    data_docs: str | None = None
    note: str | None = None
    validated_by: str | None = None  # suites: "gx" (pandas frame) or "duckdb_sql" (compiled, in the warehouse)
    gx_rows: int | None = None  # rows GX saw: all of them, or the bounded frame behind a large table's Data Docs

    @property
    def passed(self) -> bool:
        return not any(f.blocking for f in self.failures)

    @property
    def severity(self) -> str | None:
        if any(f.blocking for f in self.failures):
            return ERROR
        return WARN if self.failures else None

    def lines(self, max_rows: int = 10) -> list[str]:
        return [f"{f.severity} {line}" for f in self.failures for line in f.lines(max_rows)]

    def summary_markdown(self) -> str:
        if not self.failures:
            return f"all {self.rules_checked} rules passed on {self.rows} rows"
        rows = ["| severity | rule | column | failing rows | first rows (raw_file:raw_row) |", "|---|---|---|---|---|"]
        for f in self.failures:
            first = ", ".join(s["row"] for s in f.samples[:3]) or "-"
            rows.append(f"| {f.severity} | {f.rule} | {f.column or '-'} | {f.count} | {first} |")
        return "\n".join(rows)

    def as_dict(self) -> dict:
        return {"suite": self.suite, "passed": self.passed, "rows": self.rows, "rules_checked": self.rules_checked,
                "failures": [f.as_dict() for f in self.failures], "accepted": self.accepted,
                "data_docs": self.data_docs, "note": self.note, "validated_by": self.validated_by,
                "gx_rows": self.gx_rows}


def sample_from_record(record: dict, column: str | None) -> dict:
    """A failing row as reported: its lineage (raw_file:raw_row) and its values."""
    values = {k: _plain(v) for k, v in record.items() if k not in ("raw_file", "raw_row")}
    raw_file, raw_row = _plain(record.get("raw_file")), _plain(record.get("raw_row"))
    return {"row": f"{raw_file}:{raw_row}", "raw_file": raw_file, "raw_row": raw_row, "values": values}
