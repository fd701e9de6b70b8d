-- Per scored country: composite score, nominal rank, Monte Carlo rank p05 / median / p95, coverage.
SELECT
    c.iso3,
    dc.name AS country,
    c.score,
    c.rank,
    b.p05_rank AS rank_p05,
    b.median_rank AS rank_median,
    b.p95_rank AS rank_p95,
    c.coverage
FROM int_index_composite AS c
LEFT JOIN int_index_rank_bands AS b ON b.iso3 = c.iso3 AND b.scope = 'composite'
LEFT JOIN dim_countries AS dc ON dc.iso3 = c.iso3
ORDER BY c.rank NULLS LAST
