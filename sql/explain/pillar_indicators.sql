-- A pillar's framework indicators with one country's scored cells (scored indicators first).
SELECT
    f.indicator_key,
    f.is_scored,
    s.year_used,
    s.value_used,
    s.imputed,
    s.normalised_score,
    s.weight_in_pillar,
    f.pillar_label,
    f.pillar_weight,
    f.source_id
FROM dim_framework AS f
LEFT JOIN mart_indicator_scores AS s ON s.indicator_key = f.indicator_key AND s.iso3 = $iso3
WHERE f.pillar = $pillar
ORDER BY f.is_scored DESC, f.indicator_key
