-- One row per indicator left out, each an indicator of the index; ranks within 1..countries scored; the nominal rank
-- is the published one.
SELECT r.key, 'listed more than once' AS problem FROM mart_statistical_audit_removal AS r
GROUP BY r.key HAVING count(*) > 1
UNION ALL
SELECT r.key, 'not an indicator of the index' FROM mart_statistical_audit_removal AS r
WHERE r.key NOT IN (SELECT key FROM int_index_cells)
UNION ALL
SELECT r.key, 'rank_without ' || r.rank_without || ' outside 1..' || n.scored FROM mart_statistical_audit_removal AS r
JOIN (SELECT count(*) AS scored FROM int_index_composite WHERE rank IS NOT NULL) AS n ON TRUE
WHERE r.rank_without < 1 OR r.rank_without > n.scored
UNION ALL
SELECT r.key, 'nominal rank ' || r.nominal_rank || ' is not the published rank ' || c.rank
FROM mart_statistical_audit_removal AS r JOIN int_index_composite AS c ON c.iso3 = r.focus_iso3
WHERE r.nominal_rank IS DISTINCT FROM c.rank
