-- Every row is about the focus country of this build (ref_focus: config/peer_groups.yaml or
-- AI_READINESS_FOCUS_COUNTRY). Rows about another; none when the check passes.
SELECT b.focus_iso3, f.focus_iso3 AS expected_focus, count(*) AS rows
FROM mart_focus_trends AS b
CROSS JOIN ref_focus AS f
WHERE b.focus_iso3 IS DISTINCT FROM f.focus_iso3
GROUP BY ALL
