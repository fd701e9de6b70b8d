-- Data dictionary: every indicator in the facts, with its source, unit and licence.
SELECT
    i.source_id,
    i.indicator_id,
    i.indicator_name,
    i.unit,
    i.kind,
    i.n_countries,
    i.first_year || '-' || i.last_year AS years,
    s.licence
FROM dim_indicators AS i
LEFT JOIN dim_sources AS s USING (source_id)
ORDER BY i.source_id, i.indicator_id
