"""Glue between the warehouse tables and the statistical audit (method/audit.py) and the Sobol sensitivity analysis
(method/sensitivity.py): plain Python, no Dagster. The audit reads the nominal index as built (int_index_*) and
re-scores it from the same inputs int_index_scores used (index_build.wide_latest) for the sensitivity runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.model.framework import METHOD_FILE


def load_audit_config(path: Path = METHOD_FILE):
    """config/method.yaml `audit` and `sensitivity` -> (AuditConfig, SensitivityConfig)."""
    import yaml

    from pipelines.model.method.audit import AuditConfig
    from pipelines.model.method.sensitivity import SensitivityConfig

    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sensitivity = dict(doc.get("sensitivity") or {})
    for key in ("normalisations", "aggregations", "imputations", "outlier_treatment", "screening_thresholds"):
        if key in sensitivity:
            sensitivity[key] = tuple(sensitivity[key])
    if "screening_thresholds" in sensitivity:
        sensitivity["screening_thresholds"] = tuple(float(t) for t in sensitivity["screening_thresholds"])
    return AuditConfig(**(doc.get("audit") or {})), SensitivityConfig(**sensitivity)


# Column types of the audit tables, so a build with nothing scored (or no focus country) still writes typed tables.
AUDIT_TABLES = {
    "int_audit_pillars": {
        "pillar": "string", "n_items": "int64", "n_complete": "int64", "cronbach_alpha": "float64",
        "first_pc_eigenvalue": "float64", "first_pc_share": "float64", "min_r": "float64", "max_r": "float64",
        "n_negative_pairs": "int64", "n_redundant_pairs": "int64", "min_indicator_pillar_r": "float64",
        "pillar_composite_r": "float64", "flags": "string"},
    "int_audit_correlations": {
        "kind": "string", "pillar": "string", "item_a": "string", "item_b": "string", "r": "float64",
        "p_value": "float64", "n": "int64", "flag": "string"},
    "int_audit_coverage": {
        "scope": "string", "iso3": "string", "key": "string", "pillar": "string", "n_observed": "int64",
        "n_imputed": "int64", "n_structural_zero": "int64", "n_missing": "int64", "n_cells": "int64",
        "share_imputed": "float64", "share_structural_zero": "float64"},
    "int_audit_sobol": {
        "focus_iso3": "string", "output": "string", "input": "string", "s1": "float64", "s1_conf": "float64",
        "st": "float64", "st_conf": "float64", "output_nominal": "float64", "output_mean": "float64",
        "output_median": "float64", "output_p05": "float64", "output_p95": "float64", "n_runs": "int64",
        "base_samples": "int64", "seed": "int64"},
    "int_audit_choices": {
        "focus_iso3": "string", "input": "string", "level": "string", "n_runs": "int64",
        "focus_rank_median": "float64", "focus_rank_p05": "float64", "focus_rank_p95": "float64",
        "median_rank_shift_mean": "float64"},
    "int_audit_removal": {
        "focus_iso3": "string", "key": "string", "pillar": "string", "nominal_rank": "float64",
        "rank_without": "float64", "rank_change": "float64", "nominal_score": "float64",
        "score_without": "float64", "median_abs_rank_shift": "float64"},
}


def _typed(name: str, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    columns = AUDIT_TABLES[name]
    if frame is None or frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    return frame.reindex(columns=list(columns)).astype(columns)


def statistical_audit(cells: pd.DataFrame, pillars: pd.DataFrame, composite: pd.DataFrame, ref_framework,
                      config) -> dict[str, pd.DataFrame]:
    """Coherence statistics and coverage of the nominal index from its cell, pillar and composite tables."""
    from pipelines.model.method.audit import correlation_table, coverage_table, pillar_summary

    scored = composite.dropna(subset=["score"])["iso3"]
    if scored.empty:
        return {name: _typed(name) for name in ("int_audit_pillars", "int_audit_correlations", "int_audit_coverage")}
    order = [k for k in ref_framework["key"] if k in set(cells["key"])]
    normalised = cells.pivot(index="iso3", columns="key", values="normalised").reindex(index=scored, columns=order)
    pillar_order = [p for p in dict.fromkeys(ref_framework["pillar"]) if p in set(pillars["pillar"])]
    pillar_scores = pillars.pivot(index="iso3", columns="pillar", values="score").reindex(
        index=scored, columns=pillar_order)
    composite_score = composite.set_index("iso3")["score"].reindex(scored)
    pillar_of = ref_framework.set_index("key")["pillar"]
    correlations = correlation_table(normalised, pillar_scores, composite_score, pillar_of, config)
    summary = pillar_summary(normalised, pillar_scores, pillar_of, correlations, config)
    return {
        "int_audit_pillars": _typed("int_audit_pillars", summary),
        "int_audit_correlations": _typed("int_audit_correlations", correlations),
        "int_audit_coverage": _typed("int_audit_coverage", coverage_table(cells[cells["iso3"].isin(scored)])),
    }


def rank_sensitivity(latest, ref_framework, ref_pillars, universe, groups, focus, method_config,
                     settings) -> dict[str, pd.DataFrame]:
    """Sobol indices, rank by method choice and rank without each indicator, for the focus country; empty tables
    when the nominal index does not score it."""
    from pipelines.model.index_build import censored_bounds, domains, method_framework, scorable, wide_latest
    from pipelines.model.method.sensitivity import indicator_removal, sobol_rank_sensitivity

    empty = {name: _typed(name) for name in ("int_audit_sobol", "int_audit_choices", "int_audit_removal")}
    framework = method_framework(ref_framework, ref_pillars)
    keys = list(ref_framework["key"])
    values, bounds = wide_latest(latest, universe, keys), censored_bounds(latest, universe, keys)
    fact_domains = domains(ref_framework)  # fed as score_index feeds run_pipeline
    if focus not in values.index or not scorable(values, framework, method_config, bounds)[0]:
        return empty
    groups = groups.reindex(values.index)
    try:
        removal = indicator_removal(values, framework, method_config, focus, groups, bounds, fact_domains)
    except ValueError:  # screened out by the nominal index: nothing to explain
        return empty
    result = sobol_rank_sensitivity(values, framework, method_config, focus, groups, settings, bounds, fact_domains)
    summary = result.outputs.rename(columns={c: f"output_{c}" for c in ("nominal", "mean", "median", "p05", "p95")})
    sobol = result.indices.merge(summary[["output", "output_nominal", "output_mean", "output_median", "output_p05",
                                          "output_p95", "n_runs"]], on="output")
    sobol = sobol.assign(focus_iso3=focus, base_samples=settings.base_samples, seed=settings.seed)
    return {
        "int_audit_sobol": _typed("int_audit_sobol", sobol),
        "int_audit_choices": _typed("int_audit_choices", result.levels.assign(focus_iso3=focus)),
        "int_audit_removal": _typed("int_audit_removal", removal.assign(focus_iso3=focus)),
    }
