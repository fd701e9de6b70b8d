-- The focus country against each peer group on one indicator, pillar or the composite.
SELECT group_id, peer_median, gap_to_median, rank_in_group, n_in_group, gap_status
FROM mart_japan_benchmark
WHERE focus_iso3 = $iso3 AND level = $level AND item = $item
ORDER BY group_id
