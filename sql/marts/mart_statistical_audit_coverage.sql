-- How much of the nominal index is observed: observed, imputed, structural-zero and missing cells per country
-- (scope 'country'), per indicator ('indicator') and per country and pillar ('country_pillar').
SELECT
    v.scope,
    v.iso3,
    dc.name AS country,
    v.key,
    f.label AS indicator_label,
    v.pillar,
    v.n_cells,
    v.n_observed,
    v.n_imputed,
    v.n_structural_zero,
    v.n_missing,
    v.share_imputed,
    v.share_structural_zero
FROM int_audit_coverage AS v
LEFT JOIN dim_countries AS dc ON dc.iso3 = v.iso3
LEFT JOIN ref_framework AS f ON f.key = v.key
ORDER BY v.scope, v.iso3 NULLS FIRST, v.pillar NULLS FIRST, v.key NULLS FIRST
