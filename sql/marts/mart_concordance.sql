-- Our composite vs published composite indices (never inputs), one row per index: the summary of
-- mart_index_concordance (Spearman rank correlation over the common countries) and where the focus country stands.
SELECT
    c.index_key,
    any_value(c.index_label) AS index_label,
    max(c.index_period) AS index_period,
    count(*) AS n_common_countries,
    any_value(c.spearman_rho) AS spearman_rho,
    any_value(c.our_rank) FILTER (WHERE c.iso3 = focus.focus_iso3) AS focus_our_rank,
    any_value(c.their_rank) FILTER (WHERE c.iso3 = focus.focus_iso3) AS focus_their_rank
FROM mart_index_concordance AS c
CROSS JOIN ref_focus AS focus
GROUP BY c.index_key
ORDER BY c.index_key
