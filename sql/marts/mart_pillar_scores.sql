-- Per scored country and pillar: score (0-100), rank (1 = best), share of weight observed (not imputed),
-- and the Monte Carlo rank band over the method choices.
SELECT
    p.iso3,
    dc.name AS country,
    p.pillar,
    rp.label AS pillar_label,
    p.score,
    p.rank,
    p.coverage,
    b.p05_rank AS rank_p05,
    b.median_rank AS rank_median,
    b.p95_rank AS rank_p95
FROM int_index_pillars AS p
LEFT JOIN ref_pillars AS rp USING (pillar)
LEFT JOIN int_index_rank_bands AS b ON b.iso3 = p.iso3 AND b.scope = p.pillar
LEFT JOIN dim_countries AS dc ON dc.iso3 = p.iso3
ORDER BY p.pillar, p.rank
