-- The named scenarios of config/scenarios.yaml (indicator targets), each scored like mart_focus_what_if.
SELECT
    s.focus_iso3,
    s.scenario_id,
    s.label,
    s.n_targets,
    s.n_moved,
    s.moves,
    s.baseline_score,
    s.baseline_rank,
    s.baseline_rank_p05,
    s.baseline_rank_p95,
    s.score,
    s.rank,
    s.rank_p05,
    s.rank_median,
    s.rank_p95,
    s.rank_gain,
    s.survives_uncertainty,
    s.note
FROM int_scenarios AS s
ORDER BY s.rank_gain DESC NULLS LAST, s.scenario_id
