-- Correlations within [-1, 1], p-values within [0, 1], one row per (kind, item_a, item_b).
SELECT kind, item_a, item_b, 'listed more than once' AS problem FROM mart_statistical_audit_correlations
GROUP BY kind, item_a, item_b HAVING count(*) > 1
UNION ALL
SELECT kind, item_a, item_b, 'r ' || r || ' outside [-1, 1]' FROM mart_statistical_audit_correlations
WHERE abs(r) > 1 + 1e-9
UNION ALL
SELECT kind, item_a, item_b, 'p_value ' || p_value || ' outside [0, 1]' FROM mart_statistical_audit_correlations
WHERE p_value < 0 OR p_value > 1 + 1e-9
