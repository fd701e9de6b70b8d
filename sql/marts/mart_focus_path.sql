-- The fewest indicator moves, each to a named peer level, that bring the focus country to a target composite rank
-- (among all scored countries, or first within a peer group); step 0 is today. Each step's rank in the target
-- scope, among all scored countries, and its Monte Carlo band (pipelines/model/whatif.py, shortest_path).
SELECT
    t.focus_iso3,
    t.target_scope,
    coalesce(g.group_label, 'All scored countries') AS target_scope_label,
    t.target_rank,
    t.algorithm,
    t.reached,
    t.n_moves,
    t.step,
    t.key,
    f.label AS indicator_label,
    t.move,
    t.from_value,
    t.to_value,
    t.score,
    t.rank_in_scope,
    t.rank,
    t.rank_p05,
    t.rank_p95
FROM int_focus_path AS t
LEFT JOIN ref_framework AS f ON f.key = t.key
LEFT JOIN (SELECT DISTINCT group_id, label AS group_label FROM ref_peer_group_members) AS g
    ON g.group_id = t.target_scope
ORDER BY t.target_scope = 'universe' DESC, t.target_scope, t.step
