-- Per scored country and framework indicator: the value used (year, raw and denominated), outlier treatment,
-- imputed flag, normalised score (0-100 for min-max), and the lineage of the published number.
SELECT
    c.iso3,
    dc.name AS country,
    c.key AS indicator_key,
    f.label AS indicator_label,
    c.pillar,
    l.year_used,
    l.period_used,
    l.raw_value,
    f.denominator,
    l.denominator_year,
    c.raw AS denominated_value,
    c.treated AS treated_value,
    o.treatment AS outlier_treatment,
    c.imputed,
    c.imputation_method,
    c.value AS value_used,
    c.normalised AS normalised_score,
    w.weight AS weight_in_pillar,
    f.source_id,
    f.source_code,
    l.raw_file,
    l.raw_row
FROM int_index_cells AS c
JOIN ref_framework AS f USING (key)
LEFT JOIN int_indicator_latest AS l USING (key, iso3)
LEFT JOIN int_index_outliers AS o USING (key)
LEFT JOIN int_index_weights AS w ON w.level = 'indicator' AND w.id = c.key
LEFT JOIN dim_countries AS dc USING (iso3)
ORDER BY c.pillar, c.key, c.iso3
