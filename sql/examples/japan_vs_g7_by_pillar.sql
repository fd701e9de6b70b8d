-- Japan against the other G7 economies, pillar by pillar: Japan's score (0-100), the median and best of the other six,
-- Japan's rank among the seven, and whether the gap to the median is closing over the last five years.
-- Change group_id to any group in dim_country_groups (oecd, g20, asia_pacific_advanced, ...).
SELECT
    b.item AS pillar,
    b.item_label AS pillar_label,
    round(b.focus_value, 1) AS japan_score,
    round(b.peer_median, 1) AS g7_median,
    round(b.gap_to_median, 1) AS gap_to_median,
    b.leader_name AS best_other_g7,
    round(b.leader_value, 1) AS best_other_g7_score,
    b.rank_in_group || ' of ' || b.n_in_group AS japan_rank_in_g7,
    b.gap_status
FROM mart_japan_benchmark AS b
WHERE b.focus_iso3 = 'JPN' AND b.group_id = 'g7' AND b.level IN ('pillar', 'composite')
ORDER BY b.level = 'composite', b.gap_to_median
