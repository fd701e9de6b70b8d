-- Cell counts add up, shares are within [0, 1], one row per (scope, iso3, key, pillar), and every country is counted
-- on the same number of indicators.
SELECT scope, iso3, key, pillar, 'listed more than once' AS problem FROM mart_statistical_audit_coverage
GROUP BY scope, iso3, key, pillar HAVING count(*) > 1
UNION ALL
SELECT scope, iso3, key, pillar, 'counts do not add up to n_cells' FROM mart_statistical_audit_coverage
WHERE n_observed + n_imputed + n_structural_zero + n_missing <> n_cells
UNION ALL
SELECT scope, iso3, key, pillar, 'a share outside [0, 1]' FROM mart_statistical_audit_coverage
WHERE share_imputed NOT BETWEEN 0 AND 1 OR share_structural_zero NOT BETWEEN 0 AND 1
UNION ALL
SELECT 'country', NULL, NULL, NULL, 'countries counted on different numbers of indicators'
FROM mart_statistical_audit_coverage WHERE scope = 'country' HAVING count(DISTINCT n_cells) > 1
