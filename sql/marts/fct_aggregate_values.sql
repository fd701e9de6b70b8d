-- Aggregates the publishers report (World, regions, income groups, EU...): recorded, never mixed with countries.
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
ORDER BY source_id, indicator_id, entity_code, entity_name, period
