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
