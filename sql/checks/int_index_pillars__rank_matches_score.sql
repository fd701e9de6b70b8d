-- Every scored country is ranked once within each pillar, 1 = best, ties sharing the best rank: its rank is
-- 1 + the number of countries with a strictly higher score, so ranks run 1..n. A rank without a score is wrong too.
-- Rows that break it; none when the check passes.
SELECT pillar, iso3, score, rank, expected_rank
FROM (
    SELECT pillar, iso3, score, rank,
           CASE WHEN score IS NOT NULL THEN rank() OVER (PARTITION BY pillar ORDER BY score DESC NULLS LAST) END
               AS expected_rank
    FROM int_index_pillars
)
WHERE rank IS DISTINCT FROM expected_rank
ORDER BY pillar, iso3
LIMIT 20
