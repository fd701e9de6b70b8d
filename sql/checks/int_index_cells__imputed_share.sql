-- Screening keeps a country only with at least min_country_coverage of the kept indicators observed
-- (config/method.yaml, as run: int_index_settings), so at most 1 - min_country_coverage of its cells are imputed.
-- Countries above that share; none when the check passes.
WITH bound AS (
    SELECT 1 - CAST(value AS DOUBLE) AS max_imputed_share
    FROM int_index_settings
    WHERE setting = 'min_country_coverage'
)
SELECT
    c.iso3,
    count(*) AS cells,
    count(*) FILTER (WHERE c.imputed) AS imputed_cells,
    avg(CAST(c.imputed AS DOUBLE)) AS imputed_share,
    any_value(b.max_imputed_share) AS max_imputed_share
FROM int_index_cells AS c
CROSS JOIN bound AS b
GROUP BY c.iso3
HAVING avg(CAST(c.imputed AS DOUBLE)) > any_value(b.max_imputed_share) + 1e-9
ORDER BY c.iso3
LIMIT 20
