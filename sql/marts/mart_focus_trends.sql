-- The focus country (ref_focus; JPN by default) against each peer group's median, year by year, on every framework
-- indicator (denominated values): the series behind the report's trend charts. The peers of a year are the group's
-- other members with a value that year, so their number varies (n_peers); years after an indicator's last complete
-- year (ref_framework.last_year) are left out.
WITH members AS (
    SELECT m.group_id, m.label AS group_label, m.iso3, m.iso3 = f.focus_iso3 AS is_focus
    FROM ref_peer_group_members AS m
    CROSS JOIN ref_focus AS f
    UNION  -- the focus country is compared with every group, member or not
    SELECT DISTINCT m.group_id, m.label, f.focus_iso3, true
    FROM ref_peer_group_members AS m
    CROSS JOIN ref_focus AS f
)
SELECT
    f.focus_iso3,
    m.group_id,
    any_value(m.group_label) AS group_label,
    d.key AS indicator_key,
    any_value(r.label) AS indicator_label,
    any_value(r.pillar) AS pillar,
    d.year,
    make_date(d.year, 1, 1) AS period_start,  -- a time axis for BI tools
    make_date(d.year, 12, 31) AS period_end,
    any_value(d.value) FILTER (WHERE m.is_focus) AS focus_value,
    count(*) FILTER (WHERE NOT m.is_focus) AS n_peers,
    median(d.value) FILTER (WHERE NOT m.is_focus) AS peer_median,
    quantile_cont(d.value, 0.25) FILTER (WHERE NOT m.is_focus) AS peer_p25,
    quantile_cont(d.value, 0.75) FILTER (WHERE NOT m.is_focus) AS peer_p75
FROM members AS m
JOIN int_indicator_denominated AS d USING (iso3)
JOIN ref_framework AS r ON r.key = d.key
CROSS JOIN ref_focus AS f
WHERE d.value IS NOT NULL AND d.year <= r.last_year
GROUP BY f.focus_iso3, m.group_id, d.key, d.year
ORDER BY m.group_id, d.key, d.year
