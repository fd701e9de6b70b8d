-- Country facts: one row per source, indicator, country (ISO3) and period, each traceable to a raw file and row.
-- Regional and income aggregates are kept out (see fct_aggregate_values). Flags: partial year, provisional
-- (projected/preliminary), secondary source (transcribed or third-party copy, or a cell marked secondary).
-- No ORDER BY: rows keep the staged order (source, raw file, row), already clustered by source and indicator;
-- sorting 20 M rows would cost more than the rest of this step (and spill) for no query's benefit.
SELECT
    source_id,
    indicator_id,
    source_code,
    iso3,
    period,
    year,
    -- the period as dates, for BI time axes: a year, quarter (YYYY-Qn), half-year (YYYY-Hn) or month (YYYY-MM);
    -- the same expression is in fct_aggregate_values.sql
    CASE
        WHEN regexp_full_match(period, '[0-9]{4}') THEN make_date(year, 1, 1)
        WHEN regexp_full_match(period, '[0-9]{4}-Q[1-4]') THEN make_date(year, 3 * CAST(right(period, 1) AS INTEGER) - 2, 1)
        WHEN regexp_full_match(period, '[0-9]{4}-H[12]') THEN make_date(year, 6 * CAST(right(period, 1) AS INTEGER) - 5, 1)
        WHEN regexp_full_match(period, '[0-9]{4}-[0-9]{2}') THEN make_date(year, CAST(right(period, 2) AS INTEGER), 1)
    END AS period_start,
    CASE
        WHEN regexp_full_match(period, '[0-9]{4}') THEN make_date(year, 12, 31)
        WHEN regexp_full_match(period, '[0-9]{4}-Q[1-4]') THEN last_day(make_date(year, 3 * CAST(right(period, 1) AS INTEGER), 1))
        WHEN regexp_full_match(period, '[0-9]{4}-H[12]') THEN last_day(make_date(year, 6 * CAST(right(period, 1) AS INTEGER), 1))
        WHEN regexp_full_match(period, '[0-9]{4}-[0-9]{2}') THEN last_day(make_date(year, CAST(right(period, 2) AS INTEGER), 1))
    END AS period_end,
    value,
    unit,
    note,
    is_partial_year,
    is_provisional,
    is_secondary,
    raw_file,
    raw_sha256,
    raw_row
FROM stg__all_sources
WHERE NOT is_aggregate
