-- Data dictionary: the framework's indicators with source, unit, weights and licence.
SELECT
    f.pillar_label,
    f.indicator_key,
    f.indicator_label,
    f.source_id || ': ' || f.source_code AS series,
    i.unit,
    f.direction,
    f.denominator,
    f.window_years,
    f.weight_in_pillar,
    f.pillar_weight,
    s.licence
FROM dim_framework AS f
LEFT JOIN dim_indicators AS i USING (source_id, indicator_id)
LEFT JOIN dim_sources AS s USING (source_id)
ORDER BY f.pillar, f.indicator_key
