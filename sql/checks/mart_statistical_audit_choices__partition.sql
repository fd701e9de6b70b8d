-- One row per (input, level); each input's levels split the sensitivity runs between them (no run lost or counted
-- twice); ranks are ranks.
SELECT input, level, 'listed more than once' AS problem FROM mart_statistical_audit_choices
GROUP BY input, level HAVING count(*) > 1
UNION ALL
SELECT c.input, NULL, 'levels cover ' || sum(c.n_runs) || ' runs, not ' || any_value(s.n_runs)
FROM mart_statistical_audit_choices AS c
JOIN (SELECT DISTINCT n_runs FROM mart_statistical_audit_sobol) AS s ON TRUE
GROUP BY c.input HAVING sum(c.n_runs) <> any_value(s.n_runs)
UNION ALL
SELECT input, level, 'rank below 1' FROM mart_statistical_audit_choices
WHERE least(focus_rank_median, focus_rank_p05, focus_rank_p95) < 1
