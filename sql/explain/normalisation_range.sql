-- The cross-section an indicator was normalised over: how many countries, and the lowest and highest value used.
SELECT
    count(*) AS n,
    min(value_used) AS lo,
    arg_min(iso3, value_used) AS lo_iso3,
    max(value_used) AS hi,
    arg_max(iso3, value_used) AS hi_iso3
FROM mart_indicator_scores
WHERE indicator_key = $key
