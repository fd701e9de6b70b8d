-- A move on an indicator the focus country already leads (or is beyond the level on) changes nothing:
-- re-scoring with its own value gives today's score, rank and band.
SELECT scope, item, group_id, level, baseline_score, score, baseline_rank, rank
FROM mart_focus_what_if
WHERE n_moved = 0
  AND (abs(score - baseline_score) > 1e-9 OR rank <> baseline_rank OR rank_p05 <> baseline_rank_p05
       OR rank_p95 <> baseline_rank_p95)
ORDER BY scope, item, group_id, level
