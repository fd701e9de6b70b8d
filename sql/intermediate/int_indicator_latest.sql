-- The latest denominated value per framework indicator and country within the indicator's window
-- (last_year - window_years + 1 .. last_year, where last_year is the reference year or the indicator's last
-- complete year if earlier); the year used is recorded per cell. A structural zero counts as a value; a censored
-- cell (no value, a bound) counts too when its bound is known, and is then the latest information.
SELECT
    d.key,
    d.pillar,
    d.iso3,
    d.year AS year_used,
    d.period AS period_used,
    d.raw_value,
    d.value,
    d.denominator_year,
    d.raw_file,
    d.raw_row,
    d.is_structural_zero,
    d.is_censored,
    d.censored_bound
FROM int_indicator_denominated AS d
JOIN ref_framework AS f USING (key)
WHERE (d.value IS NOT NULL OR (d.is_censored AND d.censored_bound IS NOT NULL))
  AND d.year BETWEEN f.last_year - f.window_years + 1 AND f.last_year
QUALIFY row_number() OVER (PARTITION BY d.key, d.iso3 ORDER BY d.year DESC) = 1
