-- The annual view: one value per (source, indicator, country, year). Sub-annual series (GitHub quarters,
-- TOP500 June/November lists, AI-diffusion half-years) keep the latest period within the year.
SELECT
    source_id,
    indicator_id,
    source_code,
    iso3,
    year,
    arg_max(period, period) AS period,
    arg_max(value, period) AS value,
    arg_max(raw_file, period) AS raw_file,
    arg_max(raw_row, period) AS raw_row
FROM fct_indicator_values
GROUP BY source_id, indicator_id, source_code, iso3, year
