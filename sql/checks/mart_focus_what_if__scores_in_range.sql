-- Composite scores stay within 0-100 (on scales that are 0-100 by construction: min_max, percentile_rank,
-- distance_to_frontier), ranks within 1..the number of scored countries, bands ordered.
WITH scored AS (SELECT count(*) AS n FROM mart_composite_index WHERE rank IS NOT NULL),
bounded AS (
    SELECT trim(value, '"') IN ('min_max', 'percentile_rank', 'distance_to_frontier') AS is_0_100
    FROM dim_method_settings WHERE setting = 'normalisation'
)
SELECT scope || ':' || item || ':' || group_id || ':' || level AS row_id, score, rank, rank_p05, rank_p95
FROM mart_focus_what_if, scored, bounded
WHERE score IS NULL OR (is_0_100 AND (score < 0 OR score > 100)) OR rank < 1 OR rank > n
   OR rank_p05 > rank_p95
ORDER BY row_id
