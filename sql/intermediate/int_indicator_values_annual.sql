-- The annual view of the series the benchmark reads: the framework's indicators (ref_framework) and the WDI
-- population and GDP that int_indicator_denominated divides by; one value per (source, indicator, country, year).
-- Only these: the other facts (at 100x, 20 M rows of them) are never read from here, so copying them is waste.
-- Absence is data (ref_framework.absence): for an exhaustive list (`zero`) every universe economy without a record in
-- a period the list covers gets a structural zero; for a censored series (`censored`) a cell known to lie below the
-- publisher's threshold (value null, censored_below set). The periods a list covers are every period it publishes,
-- and for an annual series also the years between its first and last; the lineage is the list file of that period
-- and no row: the economy is not in the list.
-- Sub-annual series (GitHub quarters, TOP500 June/November lists, AI-diffusion half-years) keep the latest
-- period within the year. Annual series (every period is its year) pass straight through:
-- fct_indicator_values is unique per (source_id, indicator_id, iso3, period) (a blocking check), so they already
-- have one row per year, and only the few sub-annual series need the GROUP BY.
WITH observed AS (
    SELECT f.source_id, f.indicator_id, f.source_code, f.iso3, f.year, f.period, f.value, f.raw_file, f.raw_row
    FROM fct_indicator_values AS f
    WHERE (f.source_id, f.indicator_id) IN (SELECT (source_id, indicator_id) FROM ref_framework)
       OR (f.source_id = 'worldbank_wdi' AND f.source_code IN ('SP.POP.TOTL', 'NY.GDP.MKTP.CD'))
),
absence_series AS (
    SELECT source_id, indicator_id, any_value(absence) AS absence, any_value(censored_below) AS censored_below
    FROM ref_framework
    WHERE absence IN ('zero', 'censored')
    GROUP BY source_id, indicator_id
),
published_periods AS (
    SELECT o.source_id, o.indicator_id, any_value(o.source_code) AS source_code, o.period, any_value(o.year) AS year,
           min(o.raw_file) AS raw_file
    FROM observed AS o
    JOIN absence_series USING (source_id, indicator_id)
    GROUP BY o.source_id, o.indicator_id, o.period
),
annual_gaps AS (  -- years inside an annual list's span in which no economy has a record
    SELECT s.source_id, s.indicator_id, s.source_code, CAST(s.y AS VARCHAR) AS period, s.y AS year, s.raw_file
    FROM (
        SELECT source_id, indicator_id, any_value(source_code) AS source_code, min(raw_file) AS raw_file,
               unnest(generate_series(min(year), max(year))) AS y
        FROM published_periods
        GROUP BY source_id, indicator_id
        HAVING bool_and(period = CAST(year AS VARCHAR))
    ) AS s
    ANTI JOIN published_periods AS p
      ON p.source_id = s.source_id AND p.indicator_id = s.indicator_id AND p.year = s.y
),
covered AS (
    SELECT * FROM published_periods
    UNION ALL
    SELECT * FROM annual_gaps
),
absent AS (
    SELECT
        c.source_id, c.indicator_id, c.source_code, u.iso3, c.year, c.period,
        CASE WHEN s.absence = 'zero' THEN 0.0 END AS value,
        c.raw_file,
        CAST(NULL AS VARCHAR) AS raw_row,
        s.absence = 'zero' AS is_structural_zero,
        s.absence = 'censored' AS is_censored,
        CASE WHEN s.absence = 'censored' THEN s.censored_below END AS censored_below
    FROM covered AS c
    JOIN absence_series AS s USING (source_id, indicator_id)
    CROSS JOIN ref_universe AS u
    ANTI JOIN observed AS o
      ON o.source_id = c.source_id AND o.indicator_id = c.indicator_id AND o.period = c.period AND o.iso3 = u.iso3
),
facts AS (
    SELECT *, false AS is_structural_zero, false AS is_censored, CAST(NULL AS DOUBLE) AS censored_below FROM observed
    UNION ALL
    SELECT * FROM absent
),
series AS (
    SELECT source_id, indicator_id, bool_or(period <> CAST(year AS VARCHAR)) AS sub_annual
    FROM facts
    GROUP BY source_id, indicator_id
)
SELECT f.source_id, f.indicator_id, f.source_code, f.iso3, f.year, f.period, f.value, f.raw_file, f.raw_row,
       f.is_structural_zero, f.is_censored, f.censored_below
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
    arg_max_null(f.value, f.period) AS value,
    arg_max(f.raw_file, f.period) AS raw_file,
    arg_max_null(f.raw_row, f.period) AS raw_row,
    arg_max(f.is_structural_zero, f.period) AS is_structural_zero,
    arg_max(f.is_censored, f.period) AS is_censored,
    arg_max_null(f.censored_below, f.period) AS censored_below
FROM facts AS f
JOIN series AS s USING (source_id, indicator_id)
WHERE s.sub_annual
GROUP BY f.source_id, f.indicator_id, f.source_code, f.iso3, f.year
