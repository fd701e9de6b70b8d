-- One country's pillar scores and ranks with each pillar's weight in the composite.
SELECT p.pillar, p.score, p.rank, any_value(f.pillar_weight) AS weight
FROM mart_pillar_scores AS p
JOIN dim_framework AS f USING (pillar)
WHERE p.iso3 = $iso3
GROUP BY ALL
ORDER BY p.pillar
