-- Every published period of the framework's sub-annual series whose absence means missing (e.g. the Microsoft AI
-- diffusion half-years and quarter: 2025-H1, 2025-H2, 2026-Q1), denominated with the factor of its year in
-- int_indicator_denominated, on a time axis in years (each period's midpoint). The annual view keeps one period per
-- year; trends read every period a source publishes from here. Series whose absence is a structural zero or
-- censored keep their annual history, where those cells are made explicit.
WITH factors AS (
    SELECT key, iso3, year, value / raw_value AS factor
    FROM int_indicator_denominated
    WHERE value IS NOT NULL AND raw_value IS NOT NULL AND raw_value <> 0
)
SELECT
    r.key,
    f.iso3,
    f.period,
    f.year,
    f.year + CASE
        WHEN regexp_matches(f.period, '^\d{4}-H[12]$') THEN (CAST(right(f.period, 1) AS INTEGER) - 1) * 0.5 + 0.25
        WHEN regexp_matches(f.period, '^\d{4}-Q[1-4]$') THEN (CAST(right(f.period, 1) AS INTEGER) - 1) * 0.25 + 0.125
        WHEN regexp_matches(f.period, '^\d{4}-\d{2}$') THEN (CAST(right(f.period, 2) AS INTEGER) - 0.5) / 12
        ELSE 0.5
    END AS time,
    CASE WHEN r.denominator = 'none' THEN f.value * r.scale ELSE f.value * x.factor END AS value,
    f.raw_file,
    f.raw_row
FROM fct_indicator_values AS f
JOIN ref_framework AS r USING (source_id, indicator_id)
LEFT JOIN factors AS x ON x.key = r.key AND x.iso3 = f.iso3 AND x.year = f.year
WHERE r.absence = 'missing'
  AND f.period <> CAST(f.year AS VARCHAR)
  AND f.year <= r.last_year
