-- What changed for the focus country since the last published release, and why: one row per score (composite and
-- pillars: old and new score and rank), per attribution (the score change split by change type), per changed cell
-- (indicator value with old and new value, period, score, contribution and lineage) and per peer whose move changed
-- the focus country's rank. __old__ is the last release (attached read-only), __new__ this build; $focus the ISO3.
-- Change types of a cell: data_revision (same period, new value), new_period (a newer period became the latest
-- value), coverage (a cell gained or lost, or imputed <-> observed), method_config (same value and period, and the
-- method settings or the framework changed), relative (same value and period and method: other countries' values
-- moved the normalisation). A score's change minus its cells' contributions is `unattributed` (screening and
-- re-weighting effects), so every attribution row set sums exactly to the score change.
WITH
focus AS (SELECT CAST($focus AS VARCHAR) AS iso3),
method_changed AS (
    SELECT (SELECT count(*) FROM (
                (SELECT setting, value FROM __old__.dim_method_settings EXCEPT SELECT setting, value FROM __new__.dim_method_settings)
                UNION ALL
                (SELECT setting, value FROM __new__.dim_method_settings EXCEPT SELECT setting, value FROM __old__.dim_method_settings)))
         + (SELECT count(*) FROM (
                (SELECT indicator_key, pillar, direction, denominator, weight_in_pillar, pillar_weight, is_scored FROM __old__.dim_framework
                 EXCEPT SELECT indicator_key, pillar, direction, denominator, weight_in_pillar, pillar_weight, is_scored FROM __new__.dim_framework)
                UNION ALL
                (SELECT indicator_key, pillar, direction, denominator, weight_in_pillar, pillar_weight, is_scored FROM __new__.dim_framework
                 EXCEPT SELECT indicator_key, pillar, direction, denominator, weight_in_pillar, pillar_weight, is_scored FROM __old__.dim_framework)))
         > 0 AS changed
),
old_cells AS (SELECT s.* FROM __old__.mart_indicator_scores AS s JOIN focus USING (iso3)),
new_cells AS (SELECT s.* FROM __new__.mart_indicator_scores AS s JOIN focus USING (iso3)),
old_weights AS (SELECT pillar, sum(weight_in_pillar) AS total FROM old_cells GROUP BY pillar),
new_weights AS (SELECT pillar, sum(weight_in_pillar) AS total FROM new_cells GROUP BY pillar),
pillar_share AS (  -- a pillar's weight in the composite (pillars are aggregated with these weights)
    SELECT pillar, max(pillar_weight) / sum(max(pillar_weight)) OVER () AS share
    FROM __new__.dim_framework WHERE is_scored GROUP BY pillar
),
cells AS (
    SELECT
        coalesce(n.pillar, o.pillar) AS pillar,
        coalesce(n.indicator_key, o.indicator_key) AS indicator_key,
        coalesce(n.indicator_label, o.indicator_label) AS indicator_label,
        coalesce(n.source_id, o.source_id) AS source_id,
        coalesce(n.source_code, o.source_code) AS source_code,
        o.period_used AS old_period, n.period_used AS new_period,
        o.raw_value AS old_value, n.raw_value AS new_value,
        o.imputed AS old_imputed, n.imputed AS new_imputed,
        o.normalised_score AS old_score, n.normalised_score AS new_score,
        o.raw_file AS old_raw_file, o.raw_row AS old_raw_row,
        n.raw_file AS new_raw_file, n.raw_row AS new_raw_row,
        coalesce(coalesce(n.weight_in_pillar, 0) * coalesce(n.normalised_score, 0) / nullif(nw.total, 0), 0)
            - coalesce(coalesce(o.weight_in_pillar, 0) * coalesce(o.normalised_score, 0) / nullif(ow.total, 0), 0)
            AS contribution_to_pillar,
        CASE
            WHEN o.indicator_key IS NULL OR n.indicator_key IS NULL
                 OR coalesce(o.imputed, false) <> coalesce(n.imputed, false) THEN 'coverage'
            WHEN o.period_used IS DISTINCT FROM n.period_used THEN 'new_period'
            WHEN o.raw_value IS DISTINCT FROM n.raw_value THEN 'data_revision'
            WHEN (SELECT changed FROM method_changed) THEN 'method_config'
            ELSE 'relative'
        END AS change_type
    FROM old_cells AS o
    FULL OUTER JOIN new_cells AS n USING (indicator_key)
    LEFT JOIN old_weights AS ow ON ow.pillar = coalesce(n.pillar, o.pillar)
    LEFT JOIN new_weights AS nw ON nw.pillar = coalesce(n.pillar, o.pillar)
),
changed_cells AS (
    SELECT c.*, c.contribution_to_pillar * coalesce(ps.share, 0) AS contribution_to_composite
    FROM cells AS c LEFT JOIN pillar_share AS ps USING (pillar)
    WHERE c.old_score IS DISTINCT FROM c.new_score OR c.old_value IS DISTINCT FROM c.new_value
       OR c.old_period IS DISTINCT FROM c.new_period OR c.old_imputed IS DISTINCT FROM c.new_imputed
),
lineage AS (  -- the sha256 of the raw files the old and new values came from
    SELECT DISTINCT raw_file, raw_sha256, 'old' AS side FROM __old__.fct_indicator_values JOIN focus USING (iso3)
    UNION ALL
    SELECT DISTINCT raw_file, raw_sha256, 'new' AS side FROM __new__.fct_indicator_values JOIN focus USING (iso3)
),
scores AS (
    SELECT 'composite' AS level, o.score AS old_score, n.score AS new_score, o.rank AS old_rank, n.rank AS new_rank
    FROM focus
    LEFT JOIN __old__.mart_composite_index AS o USING (iso3)
    LEFT JOIN __new__.mart_composite_index AS n USING (iso3)
    UNION ALL
    SELECT coalesce(n.pillar, o.pillar), o.score, n.score, o.rank, n.rank
    FROM (SELECT * FROM __old__.mart_pillar_scores JOIN focus USING (iso3)) AS o
    FULL OUTER JOIN (SELECT * FROM __new__.mart_pillar_scores JOIN focus USING (iso3)) AS n USING (pillar)
),
cell_rows AS (
    SELECT pillar AS level, change_type, contribution_to_pillar AS contribution FROM changed_cells
    UNION ALL
    SELECT 'composite', change_type, contribution_to_composite FROM changed_cells
),
attribution AS (
    SELECT s.level, t.change_type, coalesce(sum(r.contribution), 0) AS contribution,
           count(r.contribution) AS n_cells
    FROM scores AS s
    CROSS JOIN (VALUES ('data_revision'), ('new_period'), ('coverage'), ('method_config'), ('relative')) AS t(change_type)
    LEFT JOIN cell_rows AS r ON r.level = s.level AND r.change_type = t.change_type
    GROUP BY s.level, t.change_type
),
unattributed AS (
    SELECT s.level, 'unattributed' AS change_type,
           coalesce(s.new_score, 0) - coalesce(s.old_score, 0)
               - coalesce((SELECT sum(a.contribution) FROM attribution AS a WHERE a.level = s.level), 0) AS contribution,
           0 AS n_cells
    FROM scores AS s
),
ranked_old AS (
    SELECT 'composite' AS level, iso3, score, rank FROM __old__.mart_composite_index
    UNION ALL SELECT pillar, iso3, score, rank FROM __old__.mart_pillar_scores
),
ranked_new AS (
    SELECT 'composite' AS level, iso3, score, rank FROM __new__.mart_composite_index
    UNION ALL SELECT pillar, iso3, score, rank FROM __new__.mart_pillar_scores
),
peers AS (  -- countries that crossed the focus country: above it before and below it now, or the reverse
    SELECT o.level, o.iso3, o.score AS old_score, n.score AS new_score, o.rank AS old_rank, n.rank AS new_rank,
           CASE WHEN n.rank < fn.rank THEN 'moved above the focus country' ELSE 'moved below the focus country' END
               AS peer_move
    FROM ranked_old AS o
    JOIN ranked_new AS n USING (level, iso3)
    JOIN ranked_old AS fo ON fo.level = o.level AND fo.iso3 = (SELECT iso3 FROM focus)
    JOIN ranked_new AS fn ON fn.level = o.level AND fn.iso3 = (SELECT iso3 FROM focus)
    WHERE o.iso3 <> (SELECT iso3 FROM focus) AND (o.rank < fo.rank) <> (n.rank < fn.rank)
)
SELECT
    'score' AS row_kind, level, (SELECT iso3 FROM focus) AS iso3, CAST(NULL AS VARCHAR) AS change_type,
    CAST(NULL AS VARCHAR) AS indicator_key, CAST(NULL AS VARCHAR) AS indicator_label,
    CAST(NULL AS VARCHAR) AS cell_source_id, CAST(NULL AS VARCHAR) AS source_code,
    old_score, new_score, new_score - old_score AS score_delta, old_rank, new_rank, new_rank - old_rank AS rank_delta,
    CAST(NULL AS DOUBLE) AS contribution, CAST(NULL AS BIGINT) AS n_cells, CAST(NULL AS BIGINT) AS contribution_rank,
    CAST(NULL AS VARCHAR) AS old_period, CAST(NULL AS VARCHAR) AS new_period,
    CAST(NULL AS DOUBLE) AS old_value, CAST(NULL AS DOUBLE) AS new_value,
    CAST(NULL AS VARCHAR) AS old_raw_file, CAST(NULL AS VARCHAR) AS old_raw_row, CAST(NULL AS VARCHAR) AS old_raw_sha256,
    CAST(NULL AS VARCHAR) AS new_raw_file, CAST(NULL AS VARCHAR) AS new_raw_row, CAST(NULL AS VARCHAR) AS new_raw_sha256,
    CAST(NULL AS VARCHAR) AS peer_move
FROM scores
UNION ALL
SELECT 'attribution', level, (SELECT iso3 FROM focus), change_type, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, contribution, n_cells, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM (SELECT * FROM attribution UNION ALL SELECT * FROM unattributed)
UNION ALL
SELECT 'cell', c.pillar, (SELECT iso3 FROM focus), c.change_type, c.indicator_key, c.indicator_label, c.source_id,
       c.source_code, c.old_score, c.new_score, c.new_score - c.old_score, NULL, NULL, NULL,
       c.contribution_to_composite, 1,
       row_number() OVER (ORDER BY abs(c.contribution_to_composite) DESC NULLS LAST, c.indicator_key),
       c.old_period, c.new_period, c.old_value, c.new_value,
       c.old_raw_file, c.old_raw_row,
       (SELECT string_agg(DISTINCT l.raw_sha256, ',') FROM lineage AS l WHERE l.side = 'old' AND l.raw_file = c.old_raw_file),
       c.new_raw_file, c.new_raw_row,
       (SELECT string_agg(DISTINCT l.raw_sha256, ',') FROM lineage AS l WHERE l.side = 'new' AND l.raw_file = c.new_raw_file),
       NULL
FROM changed_cells AS c
UNION ALL
SELECT 'peer', level, iso3, NULL, NULL, NULL, NULL, NULL, old_score, new_score, new_score - old_score,
       old_rank, new_rank, new_rank - old_rank, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, peer_move
FROM peers
ORDER BY row_kind DESC, level, contribution_rank NULLS LAST, change_type, iso3
