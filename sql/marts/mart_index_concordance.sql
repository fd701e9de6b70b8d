-- Per published composite index and common country: our composite rank vs theirs, both re-ranked within the
-- countries both cover, the index's Spearman correlation with ours, and where we disagree most
-- (disagreement_rank 1 = largest absolute rank difference). Their indices are compared with, never fed in.
WITH ours AS (
    SELECT iso3, score FROM int_index_composite WHERE score IS NOT NULL
),
theirs AS (
    SELECT r.key, r.label, f.iso3, arg_max(f.value, f.period) AS value, max(f.period) AS period,
           arg_max(f.raw_file, f.period) AS raw_file, arg_max(f.raw_row, f.period) AS raw_row
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
        o.score AS our_score,
        t.value AS their_score,
        rank() OVER (PARTITION BY t.key ORDER BY o.score DESC) AS our_rank,
        rank() OVER (PARTITION BY t.key ORDER BY t.value DESC) AS their_rank,
        t.raw_file,
        t.raw_row
    FROM theirs AS t
    JOIN ours AS o USING (iso3)
)
SELECT
    r.key AS index_key,
    r.label AS index_label,
    r.period AS index_period,
    r.iso3,
    c.name AS country,
    r.our_score,
    r.their_score,
    r.our_rank,
    r.their_rank,
    r.our_rank - r.their_rank AS rank_difference,
    count(*) OVER (PARTITION BY r.key) AS n_common_countries,
    corr(r.our_rank, r.their_rank) OVER (PARTITION BY r.key) AS spearman_rho,
    row_number() OVER (PARTITION BY r.key ORDER BY abs(r.our_rank - r.their_rank) DESC, r.iso3) AS disagreement_rank,
    r.raw_file,
    r.raw_row
FROM ranked AS r
LEFT JOIN dim_countries AS c USING (iso3)
ORDER BY r.key, disagreement_rank
