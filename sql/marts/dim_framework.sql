-- The scoring framework as built (config/framework.yaml): one row per framework indicator with its pillar, the
-- publisher series it reads, direction, denominator, window, and the weights the composite actually used
-- (int_index_weights: null when screening dropped the indicator; see mart_screening). With the expert weights
-- (expert_weight, pillar_expert_weight) it stores the configuration the release was scored with, which the next
-- release's diff re-scores with (pipelines/publish/release_diff.py).
SELECT
    f.key AS indicator_key,
    f.label AS indicator_label,
    f.pillar,
    p.label AS pillar_label,
    f.source_id,
    f.source_code,
    f.indicator_id,
    f.direction,
    f.denominator,
    f.scale,
    f.window_years,
    f.last_year,
    f.reference_year,
    f.absence,
    f.absence_basis,
    f.censored_below,
    f.domain,
    f.display_unit,
    f.display_factor,
    f.weight AS expert_weight,
    p.weight AS pillar_expert_weight,
    wi.weight AS weight_in_pillar,
    wp.weight AS pillar_weight,
    wi.weight IS NOT NULL AS is_scored
FROM ref_framework AS f
JOIN ref_pillars AS p USING (pillar)
LEFT JOIN int_index_weights AS wi ON wi.level = 'indicator' AND wi.id = f.key
LEFT JOIN int_index_weights AS wp ON wp.level = 'pillar' AND wp.id = f.pillar
ORDER BY f.pillar, f.key
