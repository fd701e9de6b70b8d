-- The annual view of the series the benchmark reads: the framework's indicators (ref_framework) and the WDI
-- population and GDP that int_indicator_denominated divides by; one value per (source, indicator, country, year).
-- Only these: the other facts (at 100x, 20 M rows of them) are never read from here, so copying them is waste.
-- Sub-annual series (GitHub quarters, TOP500 June/November lists, AI-diffusion half-years) keep the latest
-- period within the year. Annual series (every period is its year) pass straight through:
-- fct_indicator_values is unique per (source_id, indicator_id, iso3, period) (a blocking check), so they already
-- have one row per year, and only the few sub-annual series need the GROUP BY.
WITH facts AS (
    SELECT f.*
    FROM fct_indicator_values AS f
    WHERE (f.source_id, f.indicator_id) IN (SELECT (source_id, indicator_id) FROM ref_framework)
       OR (f.source_id = 'worldbank_wdi' AND f.source_code IN ('SP.POP.TOTL', 'NY.GDP.MKTP.CD'))
),
series AS (
    SELECT source_id, indicator_id, bool_or(period <> CAST(year AS VARCHAR)) AS sub_annual
    FROM facts
    GROUP BY source_id, indicator_id
)
SELECT f.source_id, f.indicator_id, f.source_code, f.iso3, f.year, f.period, f.value, f.raw_file, f.raw_row
FROM facts AS f
JOIN series AS s USING (source_id, indicator_id)
WHERE NOT s.sub_annual
UNION ALL
SELECT
    f.source_id,
    f.indicator_id,
    f.source_code,
    f.iso3,
    f.year,
    arg_max(f.period, f.period) AS period,
    arg_max(f.value, f.period) AS value,
    arg_max(f.raw_file, f.period) AS raw_file,
    arg_max(f.raw_row, f.period) AS raw_row
FROM facts AS f
JOIN series AS s USING (source_id, indicator_id)
WHERE s.sub_annual
GROUP BY f.source_id, f.indicator_id, f.source_code, f.iso3, f.year
