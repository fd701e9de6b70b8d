"""The indicator framework (config/framework.yaml): pillars, indicators, directions, denominators, windows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.base.settings import CONFIG_DIR

FRAMEWORK_FILE = CONFIG_DIR / "framework.yaml"
DENOMINATORS = {"none", "per_million_people", "per_billion_gdp_usd"}
ABSENCES = {"zero", "censored", "missing"}  # what a universe economy without a value means (see framework.yaml)
DOMAINS = {"continuous", "binary", "year"}  # binary and year cells are never imputed


@dataclass(frozen=True)
class Framework:
    reference_year: int
    pillars: pd.DataFrame  # pillar, label, weight
    indicators: pd.DataFrame  # key, label, pillar, source_id, source_code, indicator_id, direction, denominator, ...
    concordance: pd.DataFrame  # key, label, source_id, source_code, indicator_id


def load_framework(path: Path = FRAMEWORK_FILE) -> Framework:
    import yaml

    from pipelines.staging.stage import indicator_id_for

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    pillars = pd.DataFrame(
        [{"pillar": p, "label": spec["label"], "weight": float(spec.get("weight", 1))} for p, spec in doc["pillars"].items()]
    )
    default_window = int(doc.get("default_window_years", 5))
    rows = []
    for spec in doc["indicators"]:
        problems = []
        if spec["pillar"] not in set(pillars["pillar"]):
            problems.append(f"unknown pillar {spec['pillar']!r}")
        if spec.get("denominator", "none") not in DENOMINATORS:
            problems.append(f"denominator must be one of {sorted(DENOMINATORS)}")
        if spec.get("direction") not in (1, -1):
            problems.append("direction must be 1 (higher is better) or -1")
        absence, domain = spec.get("absence", "missing"), spec.get("domain", "continuous")
        if absence not in ABSENCES:
            problems.append(f"absence must be one of {sorted(ABSENCES)}")
        if domain not in DOMAINS:
            problems.append(f"domain must be one of {sorted(DOMAINS)}")
        if (absence == "censored") != ("censored_below" in spec):
            problems.append("censored_below (the publisher's threshold) goes with absence: censored, and only with it")
        if absence == "zero" and not spec.get("absence_basis"):
            problems.append("absence: zero needs absence_basis (why the list is exhaustive)")
        if problems:
            raise ValueError(f"{path}: indicator {spec.get('key')!r}: {'; '.join(problems)}")
        rows.append({
            "key": spec["key"], "label": spec["label"], "pillar": spec["pillar"], "source_id": spec["source_id"],
            "source_code": str(spec["source_code"]), "indicator_id": indicator_id_for(str(spec["source_code"])),
            "direction": int(spec["direction"]), "denominator": spec.get("denominator", "none"),
            "scale": float(spec.get("scale", 1.0)), "window_years": int(spec.get("window_years", default_window)),
            "weight": float(spec.get("weight", 1.0)),
            "absence": absence, "absence_basis": spec.get("absence_basis"), "domain": domain,
            "display_unit": spec.get("display_unit"), "display_factor": float(spec.get("display_factor", 1.0)),
            "censored_below": float(spec["censored_below"]) if "censored_below" in spec else None,
            # partial or incomplete publisher years (e.g. VC 2026 to the export date) never count as latest
            "last_year": min(int(doc["reference_year"]), int(spec.get("last_complete_year", doc["reference_year"]))),
        })
    indicators = pd.DataFrame(rows)
    duplicated = indicators["key"][indicators["key"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{path}: indicator keys must be unique, repeated: {duplicated}")
    concordance = pd.DataFrame([
        {**c, "source_code": str(c["source_code"]), "indicator_id": indicator_id_for(str(c["source_code"]))}
        for c in doc.get("concordance", [])
    ])
    return Framework(int(doc["reference_year"]), pillars, indicators, concordance)


def check_against_registry(framework: Framework, registry: dict) -> list[str]:
    """Framework rows whose (source_id, source_code) is not a registered indicator: config errors to report.
    Sources left out of this run (AI_READINESS_SOURCES) are not errors: their indicators get no data and the
    screening step records them as dropped."""
    registered = {(s.source_id, str(i["source_code"])) for s in registry.values() for i in s.indicators}
    frames = [framework.indicators, framework.concordance]
    return [
        f"{row.key}: ({row.source_id}, {row.source_code!r}) is not an indicator in config/sources/{row.source_id}.yaml"
        for frame in frames if not frame.empty
        for row in frame.itertuples()
        if row.source_id in registry and (row.source_id, row.source_code) not in registered
    ]


METHOD_FILE = CONFIG_DIR / "method.yaml"


def load_method_config(path: Path = METHOD_FILE):
    """config/method.yaml -> (MethodConfig, TrendConfig)."""
    import yaml

    from pipelines.model.benchmark import TrendConfig
    from pipelines.model.method import MethodConfig
    from pipelines.model.method.uncertainty import UncertaintyChoices

    doc = dict(yaml.safe_load(path.read_text(encoding="utf-8")))
    mc = doc.pop("monte_carlo", {})
    trend = doc.pop("trend", {})
    for section in ("audit", "sensitivity"):  # read by pipelines.model.audit_build.load_audit_config
        doc.pop(section, None)
    choices = UncertaintyChoices(
        normalisations=tuple(mc.get("normalisations", UncertaintyChoices.normalisations)),
        aggregations=tuple(mc.get("aggregations", UncertaintyChoices.aggregations)),
        imputation=tuple(mc.get("imputation", UncertaintyChoices.imputation)),
        weight_perturbation=mc.get("weight_perturbation", "dirichlet"),
        dirichlet_concentration=float(mc.get("dirichlet_concentration", 50.0)),
    )
    config = MethodConfig(**doc, mc_draws=int(mc.get("draws", 1000)), mc_seed=int(mc.get("seed", 20261128)),
                          mc_choices=choices)
    return config, TrendConfig(**trend)


def method_config_from_settings(settings: pd.DataFrame):
    """The MethodConfig a release was scored with, from its dim_method_settings (setting, value as JSON): the
    inverse of pipelines.model.index_build.settings_table. Raises ValueError when a value is not JSON or a setting
    is unknown to this MethodConfig (a release from another version of the method)."""
    import json
    from dataclasses import fields

    from pipelines.model.method import MethodConfig
    from pipelines.model.method.uncertainty import UncertaintyChoices

    try:
        doc = {row.setting: json.loads(row.value) for row in settings.itertuples()}
    except (TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"dim_method_settings: a value is not JSON ({error})") from error
    unknown = set(doc) - {f.name for f in fields(MethodConfig)}
    if unknown:
        raise ValueError(f"dim_method_settings: settings unknown to this method: {sorted(unknown)}")
    try:
        if isinstance(doc.get("mc_choices"), dict):  # JSON lists back to the tuples the dataclass holds
            doc["mc_choices"] = UncertaintyChoices(**{k: tuple(v) if isinstance(v, list) else v
                                                     for k, v in doc["mc_choices"].items()})
        return MethodConfig(**doc)
    except TypeError as error:  # a Monte Carlo choice unknown to this version
        raise ValueError(f"dim_method_settings: {error}") from error
