-- Aggregates the publishers report (World, regions, income groups, EU...): recorded, never mixed with countries.
-- No ORDER BY: rows keep the staged order (source, raw file, row), already clustered by source and indicator;
-- sorting 20 M rows would cost more than the rest of this step (and spill) for no query's benefit.
SELECT
    source_id,
    indicator_id,
    source_code,
    entity_code,
    entity_name,
    matched_by AS recognised_by,
    period,
    year,
    value,
    unit,
    raw_file,
    raw_sha256,
    raw_row
FROM stg__all_sources
WHERE is_aggregate
