-- Where Japan is furthest behind: framework indicators ranked by the relative gap to the OECD median
-- (denominated values, direction-aware: behind_median), with the year of Japan's value and the trend of the gap.
-- A relative gap of -0.6 means Japan's value is 60 % below the median.
SELECT
    b.item AS indicator_key,
    b.item_label AS indicator,
    f.pillar,
    s.year_used AS japan_year,
    b.focus_value AS japan_value,
    b.peer_median AS oecd_median,
    round(b.gap_to_median_rel * 100) AS gap_to_median_pct,
    b.leader_name AS oecd_leader,
    b.rank_in_group || ' of ' || b.n_in_group AS japan_rank_in_oecd,
    b.gap_status
FROM mart_japan_benchmark AS b
JOIN dim_framework AS f ON f.indicator_key = b.item
LEFT JOIN mart_indicator_scores AS s ON s.iso3 = b.focus_iso3 AND s.indicator_key = b.item
WHERE b.focus_iso3 = 'JPN' AND b.group_id = 'oecd' AND b.level = 'indicator' AND b.behind_median
ORDER BY abs(b.gap_to_median_rel) DESC NULLS LAST
LIMIT 10
