"""The model: framework seeds, denominated latest values, the composite index with rank uncertainty,
and the focus country against its peer groups."""

from __future__ import annotations

import dagster as dg

from pipelines.base.faults import crash_point
from pipelines.defs.resources import ProjectPaths


def _read(connection, table: str):
    from pipelines.base.warehouse import identifier

    return connection.execute(f"SELECT * FROM {identifier(table)}").df()


def _write_all(connection, tables: dict) -> dict:
    from pipelines.base.warehouse import replace_table_from_frame

    return {f"rows_{name}": replace_table_from_frame(connection, name, frame) for name, frame in tables.items()}


@dg.asset(
    group_name="intermediate",
    kinds={"duckdb", "python"},
    deps=["dim_countries"],
    description="config/framework.yaml and config/peer_groups.yaml as tables: ref_framework, ref_pillars, "
    "ref_concordance, ref_peer_group_members, ref_universe.",
)
def framework_tables(project: ProjectPaths) -> dg.MaterializeResult:
    from pipelines.model import framework as fw
    from pipelines.model import index_build, peer_groups
    from pipelines.sources.registry import load_registry

    framework = fw.load_framework()
    problems = fw.check_against_registry(framework, load_registry())
    if problems:
        raise ValueError("config/framework.yaml: " + "; ".join(problems))
    config = peer_groups.load_peer_config()
    with project.build_warehouse() as connection:
        countries = _read(connection, "dim_countries")
        memberships = peer_groups.group_memberships(countries, config)
        universe = peer_groups.universe(memberships, config)
        counts = _write_all(connection, index_build.framework_tables(framework, memberships, universe, config.focus_country))
    return dg.MaterializeResult(metadata={**counts, "focus_country": config.focus_country, "universe": len(universe)})


def _sql_asset(name: str, deps: list, description: str, group: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, group_name=group, kinds={"duckdb", "sql"}, deps=deps, description=description)
    def _model(project: ProjectPaths) -> dg.MaterializeResult:
        from pipelines.base.warehouse import build_table

        layer = "intermediate" if name.startswith("int_") else "marts"
        with project.build_warehouse() as connection:
            rows = build_table(connection, layer, name)
            crash_point(f"marts:{name}")
            preview = connection.execute(f"SELECT * FROM {name} LIMIT 5").df()
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "preview": dg.MetadataValue.md(preview.to_markdown(index=False))}
        )

    return _model


int_indicator_values_annual = _sql_asset(
    "int_indicator_values_annual", ["fct_indicator_values", "framework_tables"],
    "Annual view of the series the benchmark reads (framework indicators, WDI population and GDP): the latest "
    "sub-annual period within each year.", "intermediate")
int_indicator_denominated = _sql_asset(
    "int_indicator_denominated", ["int_indicator_values_annual", "framework_tables"],
    "Framework indicators per country-year, divided by WDI population or GDP (denominator year recorded).",
    "intermediate")
int_indicator_periods = _sql_asset(
    "int_indicator_periods", ["int_indicator_denominated", "fct_indicator_values", "framework_tables"],
    "Every published period of the sub-annual framework series (e.g. AI-diffusion half-years), denominated, on a "
    "time axis in years: the history trends read.", "intermediate")
int_indicator_latest = _sql_asset(
    "int_indicator_latest", ["int_indicator_denominated"],
    "Latest denominated value per indicator and country within the window; the year used is recorded.",
    "intermediate")


@dg.asset(
    group_name="intermediate",
    kinds={"duckdb", "python"},
    deps=["int_indicator_latest", "int_indicator_denominated", "int_indicator_periods", "framework_tables"],
    description="The composite index (config/method.yaml): screening, outlier treatment, imputation, "
    "normalisation, weights, aggregation, and Monte Carlo rank bands over the method choices.",
)
def int_index_scores(project: ProjectPaths) -> dg.MaterializeResult:
    from pipelines.model.framework import load_method_config
    from pipelines.model.index_build import income_groups, score_index, yearly_scores

    config, trend_config = load_method_config()
    with project.build_warehouse() as connection:
        latest = _read(connection, "int_indicator_latest")
        ref_framework = _read(connection, "ref_framework")
        ref_pillars = _read(connection, "ref_pillars")
        universe = _read(connection, "ref_universe")["iso3"].tolist()
        groups = income_groups(_read(connection, "dim_countries"))
        tables = score_index(latest, ref_framework, ref_pillars, universe, groups, config)
        reference_year = int(ref_framework["reference_year"].iloc[0])
        tables["int_index_score_history"] = yearly_scores(
            _read(connection, "int_indicator_denominated"), ref_framework, ref_pillars, universe, groups, config,
            range(reference_year - trend_config.trend_years + 1, reference_year + 1),
            periods=_read(connection, "int_indicator_periods"),
        )
        counts = _write_all(connection, tables)
    return dg.MaterializeResult(metadata={**counts, "mc_draws": config.mc_draws, "seed": config.mc_seed})


@dg.asset(
    group_name="intermediate",
    kinds={"duckdb", "python"},
    deps=["int_index_scores", "int_indicator_denominated", "int_indicator_periods"],
    description="The focus country (config/peer_groups.yaml) against each peer group on every indicator, "
    "pillar and the composite: gaps, ranks, trends, years behind, years to catch up.",
)
def int_focus_benchmark(project: ProjectPaths) -> dg.MaterializeResult:
    from pipelines.model.framework import load_method_config
    from pipelines.model.index_build import focus_benchmark
    from pipelines.model.peer_groups import load_peer_config

    _, trend_config = load_method_config()
    focus = load_peer_config().focus_country
    with project.build_warehouse() as connection:
        table = focus_benchmark(
            focus=focus,
            memberships=_read(connection, "ref_peer_group_members"),
            ref_framework=_read(connection, "ref_framework"),
            latest=_read(connection, "int_indicator_latest"),
            history=_read(connection, "int_indicator_denominated").dropna(subset=["value"]),
            pillars=_read(connection, "int_index_pillars"),
            composite=_read(connection, "int_index_composite"),
            trend_config=trend_config,
            score_history=_read(connection, "int_index_score_history"),
            period_history=_read(connection, "int_indicator_periods"),
        )
        counts = _write_all(connection, {"int_focus_benchmark": table})
    return dg.MaterializeResult(metadata={**counts, "focus_country": focus})


MART_SPECS = {
    "dim_country_groups": (["framework_tables"], "Peer groups as data: (group_id, group_label, iso3)."),
    "dim_framework": (["framework_tables", "int_index_scores"], "The framework as built: per indicator its pillar, "
                      "source series, direction, denominator, window and the weights the composite used."),
    "dim_method_settings": (["int_index_scores"], "The method choices (config/method.yaml) this release was "
                            "scored with."),
    "mart_indicator_scores": (["int_index_scores"], "Per country and indicator: year used, raw and denominated "
                              "value, outlier treatment, imputed flag, normalised score, lineage to the raw row."),
    "mart_pillar_scores": (["int_index_scores"], "Per country and pillar: score, rank, coverage, rank band."),
    "mart_composite_index": (["int_index_scores"], "Per country: composite score, rank, Monte Carlo rank "
                             "p05/median/p95, coverage."),
    "mart_screening": (["int_index_scores", "int_indicator_denominated"], "What screening dropped (indicators, "
                       "countries) and why, and which denominators a dropped country lacks."),
    "mart_concordance": (["mart_index_concordance"], "Rank correlation of our composite with "
                         "Oxford GARI, IMF AIPI and Tortoise GAII over the countries in common."),
    "mart_index_concordance": (["int_index_scores", "fct_indicator_values"], "Per published index and common "
                               "country: our rank vs theirs, Spearman rho, and where we disagree most."),
    "mart_focus_trends": (["int_indicator_denominated", "framework_tables"], "The focus country vs each peer "
                          "group's median, year by year, on every framework indicator (the report's trend charts)."),
    "mart_deployment_evidence": (["int_index_scores", "fct_indicator_values", "dim_indicators", "framework_tables"],
                                 "Every deployment & adoption series and what it says about the focus country: "
                                 "scored, cross-check beside it (never pooled), or no value for it."),
    "mart_japan_benchmark": (["int_focus_benchmark"], "The focus country (JPN by default) vs each peer group on "
                             "every indicator, pillar and the composite."),
}
marts = [_sql_asset(name, deps, description, "marts") for name, (deps, description) in MART_SPECS.items()]


@dg.asset(
    group_name="intermediate",
    kinds={"duckdb", "python"},
    deps=["int_index_scores", "int_indicator_latest", "framework_tables"],
    description="Statistical audit of the index (JRC COIN style; config/method.yaml `audit`, `sensitivity`): per "
    "pillar Cronbach's alpha, first principal component, correlations with flags, observed/imputed/structural-zero "
    "shares; Sobol indices (SALib) of the focus country's rank and of all countries' rank shifts per method input; "
    "the focus country's rank with each indicator left out.",
)
def int_statistical_audit(project: ProjectPaths) -> dg.MaterializeResult:
    from pipelines.model.audit_build import load_audit_config, rank_sensitivity, statistical_audit
    from pipelines.model.framework import load_method_config

    config, _ = load_method_config()
    audit_config, sensitivity_config = load_audit_config()
    with project.build_warehouse() as connection:
        ref_framework = _read(connection, "ref_framework")
        focus = str(_read(connection, "ref_focus")["focus_iso3"].iloc[0])
        tables = statistical_audit(_read(connection, "int_index_cells"), _read(connection, "int_index_pillars"),
                                   _read(connection, "int_index_composite"), ref_framework, audit_config)
        groups = _read(connection, "dim_countries").set_index("iso3")["wb_income_group"].fillna("unclassified")
        tables.update(rank_sensitivity(
            _read(connection, "int_indicator_latest"), ref_framework, _read(connection, "ref_pillars"),
            _read(connection, "ref_universe")["iso3"].tolist(), groups, focus, config, sensitivity_config))
        counts = _write_all(connection, tables)
    return dg.MaterializeResult(metadata={**counts, "focus_country": focus,
                                          "sobol_base_samples": sensitivity_config.base_samples,
                                          "seed": sensitivity_config.seed})


AUDIT_MART_SPECS = {
    "mart_statistical_audit": "Statistical audit per pillar and of the composite: Cronbach's alpha, first principal "
                              "component's share of variance, correlation ranges and flags.",
    "mart_statistical_audit_correlations": "Within-pillar, indicator-to-pillar, indicator- and pillar-to-composite "
                                           "correlations, flagged negative, redundant (|r| > 0.92) or weak.",
    "mart_statistical_audit_coverage": "Observed, imputed, structural-zero and missing cells per country, indicator "
                                       "and country x pillar.",
    "mart_statistical_audit_sobol": "First-order and total Sobol indices of the focus country's rank and of the "
                                    "median rank shift, per uncertain method input.",
    "mart_statistical_audit_choices": "The focus country's rank under each level of each method choice.",
    "mart_statistical_audit_removal": "The focus country's rank with each indicator left out in turn.",
}
audit_marts = [_sql_asset(name, ["int_statistical_audit"], description, "marts")
               for name, description in AUDIT_MART_SPECS.items()]


@dg.asset(
    group_name="intermediate",
    kinds={"duckdb", "python"},
    deps=["int_index_scores", "int_indicator_latest", "framework_tables", "dim_indicators"],
    description="What would move the focus country (config/scenarios.yaml): the composite score, rank and Monte "
    "Carlo band if it reached each peer group's median, p75 or leader on an indicator or pillar, rank "
    "elasticities, named scenarios and the fewest moves to a target rank, re-scored through the method pipeline.",
)
def int_focus_what_if(project: ProjectPaths) -> dg.MaterializeResult:
    import time

    from pipelines.model.framework import load_method_config
    from pipelines.model.peer_groups import load_peer_config
    from pipelines.model.whatif import focus_what_if, load_scenarios

    started = time.perf_counter()
    config, _ = load_method_config()
    focus = load_peer_config().focus_country
    with project.build_warehouse() as connection:
        countries = _read(connection, "dim_countries").set_index("iso3")
        tables = focus_what_if(
            latest=_read(connection, "int_indicator_latest"), ref_framework=_read(connection, "ref_framework"),
            ref_pillars=_read(connection, "ref_pillars"), universe=_read(connection, "ref_universe")["iso3"].tolist(),
            groups=countries["wb_income_group"].fillna("unclassified"), config=config, focus=focus,
            memberships=_read(connection, "ref_peer_group_members"),
            dim_indicators=_read(connection, "dim_indicators"), scenarios=load_scenarios())
        difference = tables.pop("cross_check")
        if difference > 1e-6:
            raise ValueError(
                f"what-if scores differ from a full run of the method pipeline by {difference:.3g}: the method "
                "changed in a way pipelines/model/whatif.py does not follow (see its module doc)")
        counts = _write_all(connection, tables)
    return dg.MaterializeResult(metadata={**counts, "focus_country": focus, "cross_check_max_difference": difference,
                                          "seconds": round(time.perf_counter() - started, 2)})


# the checks on these marts read mart_composite_index and dim_method_settings: built first
_WHATIF_DEPS = ["int_focus_what_if", "mart_composite_index", "dim_method_settings"]
WHATIF_MART_SPECS = {
    "mart_focus_what_if": (_WHATIF_DEPS, "The focus country's composite score, rank and Monte Carlo band if it "
                           "reached each peer group's median, p75 or leader on one indicator or pillar; rank gained "
                           "per standard deviation and per 10 %; whether the gain survives the uncertainty."),
    "mart_focus_path": (_WHATIF_DEPS, "The fewest indicator moves (each to a named peer level) bringing the focus "
                        "country to a target rank, step by step."),
    "mart_scenarios": (_WHATIF_DEPS, "The named scenarios of config/scenarios.yaml, scored like mart_focus_what_if."),
}
marts += [_sql_asset(name, deps, description, "marts") for name, (deps, description) in WHATIF_MART_SPECS.items()]
