-- One row per indicator: the publisher's code and label, unit, and the registry's kind, valid range, direction
-- and pillar, with observed coverage.
WITH observed AS (
    SELECT
        source_id,
        indicator_id,
        any_value(source_code) AS source_code,
        any_value(indicator_name) AS indicator_name,
        any_value(unit) AS unit,
        count(DISTINCT iso3) FILTER (WHERE NOT is_aggregate) AS n_countries,
        count(*) FILTER (WHERE NOT is_aggregate) AS n_values,
        min(year) AS first_year,
        max(year) AS last_year
    FROM stg__all_sources
    GROUP BY source_id, indicator_id
)
SELECT
    o.source_id,
    o.indicator_id,
    o.source_code,
    o.indicator_name,
    o.unit,
    r.kind,
    r.valid_min,
    r.valid_max,
    r.higher_is_better,
    r.pillar,
    o.n_countries,
    o.n_values,
    o.first_year,
    o.last_year
FROM observed AS o
LEFT JOIN ref_indicators AS r USING (source_id, indicator_id)
ORDER BY o.source_id, o.indicator_id
