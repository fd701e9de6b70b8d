"""config/validation.yaml: which rules block, row-count bounds, release tolerances, reviewed exceptions."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pipelines.base.settings import CONFIG_DIR

VALIDATION_FILE = CONFIG_DIR / "validation.yaml"
BLOCKING, WARN = "blocking", "warn"
GX_MAX_ROWS_ENV = "AI_READINESS_GX_MAX_ROWS"  # overrides `gx_max_rows` (0: every non-empty table takes the SQL path)


@dataclass(frozen=True)
class ValidationConfig:
    focus_country_override: str | None = None
    severity: dict = field(default_factory=dict)
    row_counts: dict = field(default_factory=dict)
    release: dict = field(default_factory=dict)
    max_samples: int = 10
    known_exceptions: tuple = ()
    gx_max_rows: int = 250_000
    gx_sample_rows: int = 1_000
    model_checks: dict = field(default_factory=dict)  # asset -> table -> rules (validation.yaml model_checks)

    @property
    def focus_country(self) -> str:
        """validation.yaml's override, else the benchmark's focus country (config/peer_groups.yaml)."""
        if self.focus_country_override:
            return self.focus_country_override
        try:
            from pipelines.model.peer_groups import load_peer_config

            return load_peer_config().focus_country
        except (ImportError, FileNotFoundError, KeyError):
            return "JPN"

    def is_blocking(self, rule: str) -> bool:
        return self.severity.get(rule, BLOCKING) == BLOCKING

    def row_count_bounds(self, table: str) -> tuple[int | None, int | None]:
        bounds = self.row_counts.get(table) or self.row_counts.get("default") or {}
        return bounds.get("min"), bounds.get("max")

    def gx_row_limit(self) -> int:
        """Tables with more rows than this are validated by compiled SQL in DuckDB instead of GX on pandas:
        $AI_READINESS_GX_MAX_ROWS, else validation.yaml's gx_max_rows."""
        import os

        configured = os.environ.get(GX_MAX_ROWS_ENV, "").strip()
        if not configured:
            return self.gx_max_rows
        if not configured.isdigit():
            raise ValueError(f"{GX_MAX_ROWS_ENV}={configured!r} is not a row count")
        return int(configured)

    def model_tables(self) -> dict[str, str]:
        """table -> the asset that writes it, for every table with model_checks rules."""
        return {table: asset for asset, tables in self.model_checks.items() for table in tables}

    def table_rules(self, table: str) -> dict:
        asset = self.model_tables().get(table)
        return self.model_checks[asset][table] if asset else {}

    def release_setting(self, key: str, default):
        return self.release.get(key, default)

    def excepted_cells(self, rule: str, source_id: str | None = None) -> set[tuple[str, str, str, str]]:
        """(source_id, indicator_id, entity_code, period) cells a reviewed exception lets through `rule`."""
        cells = set()
        for entry in self.known_exceptions:
            if entry["rule"] == rule and source_id in (None, entry["source_id"]):
                for code, period in entry["cells"]:
                    cells.add((entry["source_id"], entry["indicator_id"], str(code), str(period)))
        return cells


MODEL_RULE_KINDS = {"unique", "not_null", "between", "ordered", "in_set", "rows", "sql"}


def _check(doc: dict, origin: Path) -> None:
    for asset, tables in (doc.get("model_checks") or {}).items():
        for table, rules in (tables or {}).items():
            unknown = set(rules or {}) - MODEL_RULE_KINDS
            if not rules or unknown:
                raise ValueError(f"{origin}: model_checks {asset}.{table}: rules must be some of "
                                 f"{sorted(MODEL_RULE_KINDS)}, got {sorted(rules or {})}")
    for name, value in (doc.get("severity") or {}).items():
        if value not in (BLOCKING, WARN):
            raise ValueError(f"{origin}: severity of {name!r} is {value!r}; expected {BLOCKING!r} or {WARN!r}")
    for entry in doc.get("known_exceptions") or []:
        missing = {"rule", "source_id", "indicator_id", "cells", "reason"} - set(entry)
        if missing:
            raise ValueError(f"{origin}: known exception {entry} lacks {sorted(missing)}")


@cache
def _load(path: Path, mtime_ns: int) -> ValidationConfig:
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    _check(doc, path)
    return ValidationConfig(
        focus_country_override=doc.get("focus_country"),
        severity=dict(doc.get("severity") or {}),
        row_counts=dict(doc.get("row_counts") or {}),
        release=dict(doc.get("release") or {}),
        max_samples=int(doc.get("max_samples", 10)),
        gx_max_rows=int(doc.get("gx_max_rows", ValidationConfig.gx_max_rows)),
        gx_sample_rows=int(doc.get("gx_sample_rows", ValidationConfig.gx_sample_rows)),
        known_exceptions=tuple(doc.get("known_exceptions") or ()),
        model_checks={asset: dict(tables) for asset, tables in (doc.get("model_checks") or {}).items()},
    )


def load_config(path: Path = VALIDATION_FILE) -> ValidationConfig:
    """The validation settings (re-read when the file changes); defaults when the file is absent."""
    if not path.is_file():
        return ValidationConfig()
    return _load(path, path.stat().st_mtime_ns)


def current_year() -> int:
    return datetime.date.today().year
