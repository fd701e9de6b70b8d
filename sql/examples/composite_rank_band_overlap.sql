-- Which countries Japan cannot be told apart from: composite scores whose Monte Carlo rank band (5th-95th
-- percentile over normalisation, aggregation, imputation and weights) overlaps Japan's. A rank is only as firm as
-- its band: everyone listed here could plausibly rank above or below Japan under other defensible method choices.
WITH japan AS (
    SELECT rank_p05, rank_p95 FROM mart_composite_index WHERE iso3 = 'JPN'
)
SELECT
    c.iso3,
    c.country,
    round(c.score, 1) AS score,
    c.rank,
    round(c.rank_p05)::INTEGER || '-' || round(c.rank_p95)::INTEGER AS rank_band,
    c.iso3 = 'JPN' AS is_japan
FROM mart_composite_index AS c, japan AS j
WHERE c.rank_p05 <= j.rank_p95 AND c.rank_p95 >= j.rank_p05
ORDER BY c.rank
