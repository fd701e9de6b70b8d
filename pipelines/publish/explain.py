"""`ai-readiness explain ISO3 ITEM`: the lineage of one published cell, read from the published marts only.

An indicator cell goes from the raw file, row and sha256 (fct_indicator_values) through every step of the method
(window year, denominator and its own lineage, outlier treatment, imputation, normalisation, weight) to the pillar
and composite scores; a pillar lists its indicators with weights and scores; `composite` lists the pillars.
Every name is checked against the dimension tables first and every query binds its values as parameters.
"""

from __future__ import annotations

import difflib
import math

from pipelines.base.warehouse import sql_text

DENOMINATOR_SERIES = {"per_million_people": ("SP.POP.TOTL", 1e6, "million people"),
                      "per_billion_gdp_usd": ("NY.GDP.MKTP.CD", 1e9, "US$ billion of GDP")}


class UnknownName(ValueError):
    """A country or item that is not in the published dimension tables (the message lists close matches)."""


def _num(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    if float(value).is_integer() or abs(value) >= 1e5:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"


def _rows(connection, sql: str, params: list | dict) -> list[dict]:
    cursor = connection.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _one(connection, sql: str, params: list | dict) -> dict | None:
    rows = _rows(connection, sql, params)
    return rows[0] if rows else None


def _query(connection, name: str, **params) -> list[dict]:
    """sql/explain/<name>.sql with named parameters ($iso3, ...), bound by DuckDB, never formatted in."""
    return _rows(connection, sql_text("explain", name), params)


def _suggest(name: str, choices: dict[str, str]) -> str:
    """Close matches on the keys and on the labels (case-insensitive), shown as 'key (label)'."""
    by_lower = {k.lower(): k for k in choices} | {str(v).lower(): k for k, v in choices.items() if v}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=5, cutoff=0.6)
    found += [v for k, v in by_lower.items() if len(name) >= 3 and name.lower() in k]  # substrings too
    keys = list(dict.fromkeys(by_lower[f] if f in by_lower else f for f in found))[:5]
    return f"; close matches: {', '.join(f'{k} ({choices[k]})' if choices[k] else k for k in keys)}" if keys else ""


def _country(connection, iso3: str) -> dict:
    row = _one(connection, "SELECT iso3, name, wb_income_group FROM dim_countries WHERE iso3 = ?", [iso3.upper()])
    if row is None:
        names = dict(connection.execute("SELECT iso3, name FROM dim_countries").fetchall())
        raise UnknownName(f"unknown country {iso3!r} (not an ISO3 code in dim_countries){_suggest(iso3, names)}")
    return row


def _settings(connection) -> dict:
    """dim_method_settings, each value decoded from its JSON."""
    import json

    return {k: json.loads(v) for k, v in connection.execute("SELECT setting, value FROM dim_method_settings").fetchall()}


def explain_lines(connection, iso3: str, item: str) -> list[str]:
    country = _country(connection, iso3)
    item = item.strip()
    if item.lower() == "composite":
        return _explain_composite(connection, country)
    pillars = dict(connection.execute("SELECT DISTINCT pillar, pillar_label FROM dim_framework").fetchall())
    if item in pillars:
        return _explain_pillar(connection, country, item)
    framework = dict(connection.execute("SELECT indicator_key, indicator_label FROM dim_framework").fetchall())
    if item in framework:
        return _explain_indicator(connection, country, item)
    series = _one(connection, "SELECT source_id, indicator_id FROM dim_indicators WHERE indicator_id = ? "
                  "OR source_code = ? ORDER BY source_id LIMIT 1", [item, item])
    if series is not None:
        return _explain_series(connection, country, series["source_id"], series["indicator_id"])
    raise UnknownName(f"unknown indicator or pillar {item!r} (not in dim_framework, dim_indicators, or "
                      f"'composite'){_suggest(item, {**pillars, **framework, 'composite': ''})}")


def _source_lines(connection, source_id: str) -> list[str]:
    s = _one(connection, "SELECT publisher, dataset, vintage, licence, restrictions FROM dim_sources "
             "WHERE source_id = ?", [source_id]) or {}
    lines = [f"  source        {source_id}: {s.get('publisher')}, {s.get('dataset')}",
             f"  vintage       {s.get('vintage')}", f"  licence       {s.get('licence')}"]
    if s.get("restrictions"):
        lines.append(f"  restrictions  {' '.join(str(s['restrictions']).split())}")
    return lines


def _fact(connection, source_id: str, iso3: str, *, indicator_id: str | None = None,
          source_code: str | None = None, period: str | None = None, year: int | None = None) -> dict | None:
    """The published fact behind a value (latest period of the year when only the year is known)."""
    rows = _query(connection, "fact", source_id=source_id, iso3=iso3, indicator_id=indicator_id,
                  source_code=source_code, period=period, year=year, limit=1)
    return rows[0] if rows else None


def _fact_lines(fact: dict, indent: str = "  ") -> list[str]:
    flags = [name for name in ("is_provisional", "is_secondary") if fact.get(name)]
    lines = [f"{indent}raw file      {fact['raw_file']}  row {fact['raw_row']}",
             f"{indent}sha256        {fact['raw_sha256']}"]
    if fact.get("note"):
        lines.append(f"{indent}note          {' '.join(str(fact['note']).split())[:300]}")
    if flags:
        lines.append(f"{indent}flags         {', '.join(flags)}")
    return lines


def _scores(connection, iso3: str, pillar: str) -> tuple[dict | None, dict | None, int, int]:
    p = _one(connection, "SELECT * FROM mart_pillar_scores WHERE iso3 = ? AND pillar = ?", [iso3, pillar])
    c = _one(connection, "SELECT * FROM mart_composite_index WHERE iso3 = ?", [iso3])
    n_pillar = connection.execute("SELECT count(*) FROM mart_pillar_scores WHERE pillar = ?", [pillar]).fetchone()[0]
    n = connection.execute("SELECT count(*) FROM mart_composite_index").fetchone()[0]
    return p, c, n_pillar, n


def _ranked(row: dict, n: int) -> str:
    return (f"{_num(row['score'])} / 100, rank {row['rank']} of {n} (Monte Carlo 90% band: rank "
            f"{_num(row['rank_p05'])}–{_num(row['rank_p95'])}), coverage {row['coverage'] * 100:.0f}% observed")


def _benchmark_lines(connection, iso3: str, level: str, item: str) -> list[str]:
    rows = _query(connection, "peer_groups", iso3=iso3, level=level, item=item)
    if not rows:
        return []
    return ["", "against peer groups (mart_japan_benchmark)"] + [
        f"  {r['group_id']:<24} peer median {_num(r['peer_median'])}, gap {_num(r['gap_to_median'])}, "
        f"rank {r['rank_in_group']} of {r['n_in_group']}, {r['gap_status']}" for r in rows]


def _unscored(connection, iso3: str, key: str | None) -> list[str]:
    reasons = _query(connection, "screening", iso3=iso3, key=key)
    if reasons:
        return [f"  not scored: {r['entity']} dropped by screening ({r['reason']})" for r in reasons]
    return [f"  not scored: {iso3} is not in the scored universe (config/peer_groups.yaml)"]


def _explain_indicator(connection, country: dict, key: str) -> list[str]:
    iso3 = country["iso3"]
    fw = _one(connection, "SELECT * FROM dim_framework WHERE indicator_key = ?", [key])
    cell = _one(connection, "SELECT * FROM mart_indicator_scores WHERE iso3 = ? AND indicator_key = ?", [iso3, key])
    out = [f"{iso3} ({country['name']}) · {key}: {fw['indicator_label']}",
           f"pillar {fw['pillar']} ({fw['pillar_label']}), direction {fw['direction']:+d}", ""]
    if cell is None:
        out += ["published value"] + _unscored(connection, iso3, key)
        fact = _fact(connection, fw["source_id"], iso3, indicator_id=fw["indicator_id"])
        if fact:
            out += [f"  latest fact   {_num(fact['value'])} {fact['unit'] or ''} ({fact['period']})"]
            out += _fact_lines(fact)
        return out + _source_lines(connection, fw["source_id"])
    fact = None
    if cell["period_used"] is not None:
        fact = _fact(connection, fw["source_id"], iso3, indicator_id=fw["indicator_id"], period=cell["period_used"])
    out.append("published value")
    if fact:
        out += [f"  value         {_num(fact['value'])} {fact['unit'] or ''} ({fact['period']})"] + _fact_lines(fact)
    else:
        out.append("  value         none within the window: imputed")
    out += _source_lines(connection, fw["source_id"])
    settings = _settings(connection)
    first = fw["last_year"] - fw["window_years"] + 1
    steps = [("window", f"latest year within {first}–{fw['last_year']}: {cell['year_used'] or 'none'}"
              + (f" (period {cell['period_used']})" if cell["period_used"] else ""))]
    if fw["denominator"] == "none":
        steps.append(("denominator", f"none: value × scale {_num(fw['scale'])} = {_num(cell['denominated_value'])}"))
    else:
        code, divisor, unit = DENOMINATOR_SERIES[fw["denominator"]]
        den = None
        if cell["denominator_year"] is not None:
            den = _fact(connection, "worldbank_wdi", iso3, source_code=code, year=cell["denominator_year"])
        if den:
            steps.append(("denominator", f"{fw['denominator']}: WDI {code} {den['year']} = {_num(den['value'])} "
                          f"({den['raw_file']} row {den['raw_row']}); {_num(cell['raw_value'])} × "
                          f"{_num(fw['scale'])} / {_num(den['value'] / divisor)} {unit} = "
                          f"{_num(cell['denominated_value'])}"))
        else:
            steps.append(("denominator", f"{fw['denominator']}: {_num(cell['denominated_value'])}"))
    steps.append(("outliers", f"{cell['outlier_treatment']} (indicator-level: |skew| > "
                  f"{settings.get('skew_threshold')} and kurtosis > {settings.get('kurtosis_threshold')} is "
                  f"treated) → {_num(cell['treated_value'])}"))
    steps.append(("imputation", f"imputed: {cell['imputation_method']} (income group {country['wb_income_group']})"
                  if cell["imputed"] else "observed, not imputed"))
    spread = _query(connection, "normalisation_range", key=key)[0]
    steps.append(("normalisation", f"{settings.get('normalisation')} over {spread['n']} countries (value used "
                  f"{_num(cell['value_used'])}; min {_num(spread['lo'])} {spread['lo_iso3']}, max "
                  f"{_num(spread['hi'])} {spread['hi_iso3']}; direction {fw['direction']:+d}) → score "
                  f"{_num(cell['normalised_score'])}"))
    steps.append(("weight", f"{_num(cell['weight_in_pillar'])} within the pillar (weights: {settings.get('weights')};"
                  f" expert weight {_num(fw['expert_weight'])}) → contributes "
                  f"{_num(cell['weight_in_pillar'] * cell['normalised_score'])}"))
    pillar, composite, n_pillar, n = _scores(connection, iso3, fw["pillar"])
    if pillar:
        steps.append(("pillar score", f"{fw['pillar']}: {_ranked(pillar, n_pillar)} "
                      f"({settings.get('aggregation')} aggregation)"))
    if composite:
        steps.append(("composite", f"{_ranked(composite, n)}; pillar weight {_num(fw['pillar_weight'])}"))
    out += ["", "from the published value to the score"]
    out += [f"  {i}. {name:<14} {text}" for i, (name, text) in enumerate(steps, 1)]
    return out + _benchmark_lines(connection, iso3, "indicator", key)


def _explain_pillar(connection, country: dict, pillar: str) -> list[str]:
    iso3 = country["iso3"]
    indicators = _query(connection, "pillar_indicators", iso3=iso3, pillar=pillar)
    settings = _settings(connection)
    score, composite, n_pillar, n = _scores(connection, iso3, pillar)
    out = [f"{iso3} ({country['name']}) · pillar {pillar}: {indicators[0]['pillar_label']}", ""]
    if score is None:
        return out + _unscored(connection, iso3, None)
    out += [f"pillar score  {_ranked(score, n_pillar)}",
            f"method        {settings.get('aggregation')} mean of the indicator scores ({settings.get('normalisation')}"
            f" normalisation, weights: {settings.get('weights')})", "",
            f"  {'indicator':<42} {'year':>4} {'value used':>12} {'imputed':>7} {'score':>7} {'weight':>6} "
            f"{'contrib.':>8}  source"]
    for r in indicators:
        if not r["is_scored"]:
            out.append(f"  {r['indicator_key']:<42} dropped by screening (mart_screening)")
            continue
        out.append(f"  {r['indicator_key']:<42} {r['year_used'] or '–':>4} {_num(r['value_used']):>12} "
                   f"{'yes' if r['imputed'] else 'no':>7} {_num(r['normalised_score']):>7} "
                   f"{_num(r['weight_in_pillar']):>6} {_num(r['weight_in_pillar'] * r['normalised_score']):>8}  "
                   f"{r['source_id']}")
    if composite:
        out += ["", f"composite     {_ranked(composite, n)}; this pillar's weight {_num(indicators[0]['pillar_weight'])}"]
    out.append(f"(per-indicator lineage: ai-readiness explain {iso3} <indicator>)")
    return out + _benchmark_lines(connection, iso3, "pillar", pillar)


def _explain_composite(connection, country: dict) -> list[str]:
    iso3 = country["iso3"]
    composite = _one(connection, "SELECT * FROM mart_composite_index WHERE iso3 = ?", [iso3])
    out = [f"{iso3} ({country['name']}) · composite AI-readiness index", ""]
    if composite is None:
        return out + _unscored(connection, iso3, None)
    n = connection.execute("SELECT count(*) FROM mart_composite_index").fetchone()[0]
    settings = _settings(connection)
    out += [f"composite     {_ranked(composite, n)}",
            f"method        {settings.get('aggregation')} mean of the pillar scores", "",
            f"  {'pillar':<26} {'score':>7} {'rank':>5} {'weight':>7} {'contrib.':>8}"]
    for r in _query(connection, "composite_pillars", iso3=iso3):
        out.append(f"  {r['pillar']:<26} {_num(r['score']):>7} {r['rank']:>5} {_num(r['weight']):>7} "
                   f"{_num(r['weight'] * r['score']):>8}")
    out.append(f"(per-pillar detail: ai-readiness explain {iso3} <pillar>)")
    return out + _benchmark_lines(connection, iso3, "composite", "composite")


def _explain_series(connection, country: dict, source_id: str, indicator_id: str) -> list[str]:
    """An indicator that is not in the framework: its latest published facts with their lineage."""
    iso3 = country["iso3"]
    meta = _one(connection, "SELECT indicator_name, unit FROM dim_indicators WHERE source_id = ? AND indicator_id = ?",
                [source_id, indicator_id])
    out = [f"{iso3} ({country['name']}) · {source_id}/{indicator_id}: {meta['indicator_name']} ({meta['unit']})",
           "not a framework indicator: published facts only (latest 3 periods)", ""]
    facts = _query(connection, "fact", source_id=source_id, iso3=iso3, indicator_id=indicator_id, source_code=None,
                   period=None, year=None, limit=3)
    if not facts:
        out.append(f"  no published value for {iso3}")
    for fact in facts:
        out += [f"  {fact['period']:<12} {_num(fact['value'])} {fact['unit'] or ''}"] + _fact_lines(fact, "    ")
    return out + [""] + _source_lines(connection, source_id)
