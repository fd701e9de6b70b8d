-- The latest denominated value per framework indicator and country within the indicator's window
-- (last_year - window_years + 1 .. last_year, where last_year is the reference year or the indicator's last
-- complete year if earlier); the year used is recorded per cell.
SELECT
    d.key,
    d.pillar,
    d.iso3,
    arg_max(d.year, d.year) AS year_used,
    arg_max(d.period, d.year) AS period_used,
    arg_max(d.raw_value, d.year) AS raw_value,
    arg_max(d.value, d.year) AS value,
    arg_max(d.denominator_year, d.year) AS denominator_year,
    arg_max(d.raw_file, d.year) AS raw_file,
    arg_max(d.raw_row, d.year) AS raw_row
FROM int_indicator_denominated AS d
JOIN ref_framework AS f USING (key)
WHERE d.value IS NOT NULL
  AND d.year BETWEEN f.last_year - f.window_years + 1 AND f.last_year
GROUP BY d.key, d.pillar, d.iso3
