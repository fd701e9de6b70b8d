-- Per scored country and framework indicator: the value used (year, raw and denominated), outlier treatment,
-- imputed flag, normalised score (0-100 for min-max), and the lineage of the published number. cell_status says
-- what kind of evidence the cell is: observed, a cited absence (a policy fact a cited source confirms is absent),
-- a structural zero (not in an exhaustive list), censored (withheld below a threshold, imputed inside it),
-- imputed, or unknown and not imputed (a 0/1 fact or a year: the pillar is scored from what is observed).
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
    coalesce(l.is_structural_zero, false) AS is_structural_zero,
    coalesce(l.is_censored, false) AS is_censored,
    l.censored_bound,
    c.imputed,
    c.imputation_method,
    CASE
        WHEN l.is_structural_zero THEN 'structural zero'
        WHEN l.is_censored THEN 'censored, imputed within bound'
        WHEN c.imputed THEN 'imputed'
        WHEN c.value IS NULL THEN 'unknown, not imputed'
        WHEN f.source_id = 'ai_policy_milestones' AND l.raw_value = 0 THEN 'cited absence'
        ELSE 'observed'
    END AS cell_status,
    c.value AS value_used,
    c.normalised AS normalised_score,
    w.weight AS weight_in_pillar,
    f.source_id,
    f.source_code,
    l.raw_file,
    l.raw_row,
    CASE WHEN l.is_structural_zero THEN 'not in list: ' || f.absence_basis END AS lineage_note
FROM int_index_cells AS c
JOIN ref_framework AS f USING (key)
LEFT JOIN int_indicator_latest AS l USING (key, iso3)
LEFT JOIN int_index_outliers AS o USING (key)
LEFT JOIN int_index_weights AS w ON w.level = 'indicator' AND w.id = c.key
LEFT JOIN dim_countries AS dc USING (iso3)
ORDER BY c.pillar, c.key, c.iso3
