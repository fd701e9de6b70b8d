-- Our composite vs published composite indices (never inputs): Spearman rank correlation over the countries
-- both rank (ranks recomputed within that common set), and where the focus country stands in each.
WITH ours AS (
    SELECT iso3, score FROM int_index_composite WHERE score IS NOT NULL
),
theirs AS (
    SELECT r.key, r.label, f.iso3, arg_max(f.value, f.period) AS value, max(f.period) AS period
    FROM ref_concordance AS r
    JOIN fct_indicator_values AS f USING (source_id, indicator_id)
    GROUP BY r.key, r.label, f.iso3
),
ranked AS (
    SELECT
        t.key,
        t.label,
        t.period,
        t.iso3,
        rank() OVER (PARTITION BY t.key ORDER BY o.score DESC) AS our_rank,
        rank() OVER (PARTITION BY t.key ORDER BY t.value DESC) AS their_rank
    FROM theirs AS t
    JOIN ours AS o USING (iso3)
)
SELECT
    r.key AS index_key,
    any_value(r.label) AS index_label,
    max(r.period) AS index_period,
    count(*) AS n_common_countries,
    corr(r.our_rank, r.their_rank) AS spearman_rho,
    any_value(r.our_rank) FILTER (WHERE r.iso3 = focus.focus_iso3) AS focus_our_rank,
    any_value(r.their_rank) FILTER (WHERE r.iso3 = focus.focus_iso3) AS focus_their_rank
FROM ranked AS r
CROSS JOIN ref_focus AS focus
GROUP BY r.key
ORDER BY r.key
