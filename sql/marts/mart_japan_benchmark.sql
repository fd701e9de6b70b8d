-- The focus country (ref_focus; JPN by default) against every peer group, on every framework indicator
-- (denominated values), pillar and the composite (0-100 scores). Largest relative gaps first within a group.
SELECT
    b.focus_iso3,
    b.group_id,
    g.group_label,
    b.level,
    b.item,
    coalesce(f.label, p.label, 'Composite AI-readiness index') AS item_label,
    b.focus_value,
    b.n_peers,
    b.peer_median,
    b.peer_p25,
    b.peer_p75,
    b.leader_iso3,
    dc.name AS leader_name,
    b.leader_value,
    b.gap_to_median,
    b.gap_to_median_rel,
    b.gap_to_leader,
    b.gap_to_leader_rel,
    b.rank_in_group,
    b.n_in_group,
    b.percentile_in_group,
    b.behind_median,
    b.focus_trend_slope,
    b.focus_trend_cagr,
    b.peer_median_trend_slope,
    b.peer_median_trend_cagr,
    b.trend_first_year,
    b.trend_last_year,
    b.gap_status,
    b.gap_closing,
    b.years_behind_median,
    b.years_behind_median_note,
    b.years_behind_leader,
    b.years_behind_leader_note,
    b.years_to_catch_up_median,
    b.years_to_catch_up_note,
    b.trend_note,
    b.level <> 'indicator' OR w.weight IS NOT NULL AS in_composite
FROM int_focus_benchmark AS b
LEFT JOIN int_index_weights AS w ON b.level = 'indicator' AND w.level = 'indicator' AND w.id = b.item
LEFT JOIN ref_framework AS f ON b.level = 'indicator' AND f.key = b.item
LEFT JOIN ref_pillars AS p ON b.level = 'pillar' AND p.pillar = b.item
LEFT JOIN (SELECT DISTINCT group_id, label AS group_label FROM ref_peer_group_members) AS g USING (group_id)
LEFT JOIN dim_countries AS dc ON dc.iso3 = b.leader_iso3
ORDER BY b.group_id, b.level, b.gap_to_median_rel NULLS LAST
