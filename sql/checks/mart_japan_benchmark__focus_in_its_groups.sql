-- The focus country is benchmarked against every peer group it belongs to (ref_peer_group_members), and is
-- ranked in each one's composite when it has a composite score. Groups that break it; none when the check passes
-- (or when nothing was benchmarked: a partial build may score nothing).
WITH focus_groups AS (
    SELECT m.group_id
    FROM ref_peer_group_members AS m
    JOIN ref_focus AS f ON m.iso3 = f.focus_iso3
),
benchmarked AS (
    SELECT group_id, count(*) AS benchmark_rows,
           bool_or(level = 'composite' AND rank_in_group IS NOT NULL) AS ranked_in_composite
    FROM mart_japan_benchmark
    GROUP BY group_id
),
focus_scored AS (
    SELECT count(*) > 0 AS has_composite_score
    FROM int_index_composite AS c
    JOIN ref_focus AS f ON c.iso3 = f.focus_iso3
    WHERE c.score IS NOT NULL
)
SELECT g.group_id, coalesce(b.benchmark_rows, 0) AS benchmark_rows, b.ranked_in_composite, s.has_composite_score
FROM focus_groups AS g
LEFT JOIN benchmarked AS b USING (group_id)
CROSS JOIN focus_scored AS s
WHERE (SELECT count(*) FROM mart_japan_benchmark) > 0
  AND (b.group_id IS NULL OR (s.has_composite_score AND NOT b.ranked_in_composite))
ORDER BY g.group_id
