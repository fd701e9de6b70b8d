"""Reference tables built from config (the registry) and country_converter: the seeds of the dimensions."""

from __future__ import annotations

import pandas as pd

from pipelines.sources.registry import Source

INDICATOR_KINDS = {
    "share_pct", "share_fraction", "score", "count", "currency", "per_capita", "ratio", "index", "years", "flag",
}


def ref_sources(registry: dict[str, Source]) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "source_id": s.source_id, "publisher": s.publisher, "dataset": s.dataset, "homepage": s.homepage,
            "publisher_url": s.publisher_url, "licence": s.licence, "terms": s.terms, "restrictions": s.restrictions,
            "vintage": s.vintage, "update_cadence_days": s.update_cadence_days,
            "secondary_source": s.secondary_source,
            "first_year": s.year_range[0], "last_year": s.year_range[1],
            "pillars": ", ".join(s.pillars), "caveats": "\n".join(s.caveats), "files": len(s.files),
            "live_status": s.live_status, "live_endpoint": s.live_endpoint, "live_reason": s.live_reason,
        }
        for s in registry.values()
    ]).astype({"publisher_url": "string", "restrictions": "string", "live_endpoint": "string",
               "live_reason": "string"})


def ref_source_files(registry: dict[str, Source]) -> pd.DataFrame:
    return pd.DataFrame([
        {"source_id": s.source_id, "path": f.path, "raw_file": f"{s.source_id}/{f.path}", "sha256": f.sha256,
         "bytes": f.bytes, "url": f.url, "parser": f.parser, "role": f.role}
        for s in registry.values() for f in s.files
    ]).astype({"url": "string", "parser": "string"})


def ref_indicators(registry: dict[str, Source]) -> pd.DataFrame:
    """The registry's per-indicator metadata; an unknown kind is a config error caught here, not downstream."""
    from pipelines.staging.stage import indicator_id_for

    rows = []
    for s in registry.values():
        for ind in s.indicators:
            if ind["kind"] not in INDICATOR_KINDS:
                raise ValueError(f"config/sources/{s.source_id}.yaml: indicator {ind['source_code']!r} has unknown "
                                 f"kind {ind['kind']!r}; expected one of {sorted(INDICATOR_KINDS)}")
            rows.append({
                "source_id": s.source_id, "indicator_id": indicator_id_for(str(ind["source_code"])),
                "source_code": str(ind["source_code"]), "registry_name": ind.get("name"),
                "registry_unit": ind.get("unit"), "kind": ind["kind"],
                "valid_min": ind.get("valid_min"), "valid_max": ind.get("valid_max"),
                "higher_is_better": bool(ind.get("higher_is_better", True)), "pillar": ind.get("pillar"),
            })
    return pd.DataFrame(rows).astype({"valid_min": "float64", "valid_max": "float64"})


def ref_countries() -> pd.DataFrame:
    from pipelines.staging.countries import country_dimension

    return country_dimension()


def ref_wb_country_groups(registry: dict[str, Source], raw_dir) -> pd.DataFrame:
    """World Bank region and income group per economy, from the Metadata_Country files of the WB sources
    (the newest file listed last wins where they disagree)."""
    from pipelines.staging.parsers.worldbank import read_country_metadata

    frames = [
        read_country_metadata(raw_dir / s.source_id / f.path)
        for s in registry.values() for f in s.files if f.role == "country_metadata"
    ]
    if not frames:
        return pd.DataFrame({"iso3": pd.Series(dtype="string"), "region": pd.Series(dtype="string"),
                             "income_group": pd.Series(dtype="string")})
    groups = pd.concat(frames, ignore_index=True)
    groups = groups[~groups["is_aggregate"]].drop_duplicates("code", keep="last")
    return groups.rename(columns={"code": "iso3"})[["iso3", "region", "income_group"]].reset_index(drop=True)
