-- Moving to a peer group's leader never gives a worse composite rank than moving to its median.
SELECT m.scope, m.item, m.group_id, m.rank AS median_rank, l.rank AS leader_rank
FROM mart_focus_what_if AS m
JOIN mart_focus_what_if AS l USING (scope, item, group_id)
WHERE m.level = 'median' AND l.level = 'leader' AND l.rank > m.rank
ORDER BY m.scope, m.item, m.group_id
