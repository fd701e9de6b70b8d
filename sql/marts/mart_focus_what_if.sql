-- The focus country's composite score, rank and Monte Carlo rank band if it reached a peer group's median, p75 or
-- leader on one indicator (or on every indicator of a pillar), all else fixed; plus one-standard-deviation and 10 %
-- moves (group_id 'universe'). Re-scored through the method pipeline (pipelines/model/whatif.py).
SELECT
    w.focus_iso3,
    w.scope,
    w.item,
    coalesce(f.label, p.label) AS item_label,
    w.pillar,
    w.group_id,
    coalesce(g.group_label, 'All scored countries') AS group_label,
    w.level,
    w.focus_value,
    w.focus_value_imputed,
    w.peer_value,
    w.target_value,
    w.target_iso3,
    w.n_moved,
    w.baseline_score,
    w.baseline_rank,
    w.baseline_rank_p05,
    w.baseline_rank_p95,
    w.score,
    w.rank,
    w.rank_p05,
    w.rank_median,
    w.rank_p95,
    w.rank_gain,
    w.rank_gain_per_sd,
    w.rank_gain_per_10pct,
    w.survives_uncertainty,
    w.note
FROM int_focus_what_if AS w
LEFT JOIN ref_framework AS f ON w.scope = 'indicator' AND f.key = w.item
LEFT JOIN ref_pillars AS p ON w.scope = 'pillar' AND p.pillar = w.item
LEFT JOIN (SELECT DISTINCT group_id, label AS group_label FROM ref_peer_group_members) AS g USING (group_id)
ORDER BY w.scope, w.item, w.group_id, w.level
