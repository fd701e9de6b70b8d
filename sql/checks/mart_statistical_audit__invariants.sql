-- The coherence audit's invariants: one row per pillar and one for the composite, every scored pillar audited,
-- Cronbach's alpha at most 1, the first principal component's share between 1/k and 1, correlations within [-1, 1].
SELECT pillar, 'pillar listed more than once' AS problem FROM mart_statistical_audit GROUP BY pillar HAVING count(*) > 1
UNION ALL
SELECT DISTINCT p.pillar, 'scored pillar missing from the audit' FROM int_index_pillars AS p
WHERE p.score IS NOT NULL AND p.pillar NOT IN (SELECT pillar FROM mart_statistical_audit)
UNION ALL
SELECT pillar, 'cronbach_alpha ' || cronbach_alpha || ' above 1' FROM mart_statistical_audit
WHERE cronbach_alpha > 1 + 1e-9
UNION ALL
SELECT pillar, 'first_pc_share ' || first_pc_share || ' outside [1/' || n_items || ', 1]' FROM mart_statistical_audit
WHERE first_pc_share > 1 + 1e-9 OR first_pc_share < 1.0 / n_items - 1e-9
UNION ALL
SELECT pillar, 'a correlation outside [-1, 1]' FROM mart_statistical_audit
WHERE greatest(abs(min_r), abs(max_r), abs(min_indicator_pillar_r), abs(pillar_composite_r)) > 1 + 1e-9
