-- What changed for the focus country since the last published release, and why: one row per score (composite and
-- pillars: old and new score and rank, and the score and rank of the new data under the old configuration), per
-- attribution (the score change split by change type), per changed cell (indicator value with old and new value,
-- period, score, contribution and lineage), per changed configuration key and per peer whose move changed the focus
-- country's rank. __old__ is the last release (attached read-only), __new__ this build, __old_config__ the new data
-- scored with the last release's configuration plus `config_changes` (pipelines/publish/release_diff.py); $focus
-- the ISO3.
-- Order of the decomposition (it is path-dependent): the data moves first, then the configuration.
--   data part   = score(new data, old config) - old score: the cells of __old__ against those of __old_config__,
--                 each cell's contribution labelled data_revision (same period, new value), new_period (a newer
--                 period became the latest value), coverage (a cell gained or lost, or imputed <-> observed) or
--                 relative (same value and period: other countries' values moved the normalisation); what the cells
--                 do not explain (screening, re-weighting) is `unattributed`;
--   method part = new score - score(new data, old config): `method_config`, plus the cells whose value and period
--                 did not change while a configuration key the re-score did not re-apply changed (windows,
--                 denominators, or a last release with no re-scorable configuration).
-- Every attribution row set sums exactly to the score change. With equal configurations __old_config__ holds
-- copies of __new__'s scores and the method part is 0.
WITH
focus AS (SELECT CAST($focus AS VARCHAR) AS iso3),
config AS (  -- a configuration key changed that the re-score did not re-apply: its cells are labelled instead
    SELECT coalesce(bool_or(NOT rescored), false) AS unscored_change FROM __old_config__.config_changes
),
old_cells AS (SELECT s.* FROM __old__.mart_indicator_scores AS s JOIN focus USING (iso3)),
rescored_cells AS (SELECT s.* FROM __old_config__.mart_indicator_scores AS s JOIN focus USING (iso3)),
new_cells AS (SELECT s.* FROM __new__.mart_indicator_scores AS s JOIN focus USING (iso3)),
old_weights AS (SELECT pillar, sum(weight_in_pillar) AS total FROM old_cells GROUP BY pillar),
rescored_weights AS (SELECT pillar, sum(weight_in_pillar) AS total FROM rescored_cells GROUP BY pillar),
pillar_share AS (  -- a pillar's weight in the composite under the old configuration (the data part's weights)
    SELECT pillar, max(pillar_weight) / sum(max(pillar_weight)) OVER () AS share
    FROM __old_config__.dim_framework WHERE is_scored GROUP BY pillar
),
cells AS (  -- the data part, cell by cell: the last release against the new data under the old configuration
    SELECT
        coalesce(r.pillar, o.pillar) AS pillar,
        coalesce(r.indicator_key, o.indicator_key) AS indicator_key,
        coalesce(r.indicator_label, o.indicator_label) AS indicator_label,
        coalesce(r.source_id, o.source_id) AS source_id,
        coalesce(r.source_code, o.source_code) AS source_code,
        o.period_used AS old_period, r.period_used AS new_period,
        o.raw_value AS old_value, r.raw_value AS new_value,
        o.imputed AS old_imputed, r.imputed AS new_imputed,
        o.normalised_score AS old_score, r.normalised_score AS old_config_score,
        n.normalised_score AS new_score,
        o.raw_file AS old_raw_file, o.raw_row AS old_raw_row,
        r.raw_file AS new_raw_file, r.raw_row AS new_raw_row,
        coalesce(coalesce(r.weight_in_pillar, 0) * coalesce(r.normalised_score, 0) / nullif(rw.total, 0), 0)
            - coalesce(coalesce(o.weight_in_pillar, 0) * coalesce(o.normalised_score, 0) / nullif(ow.total, 0), 0)
            AS contribution_to_pillar,
        CASE
            WHEN o.indicator_key IS NULL OR r.indicator_key IS NULL
                 OR coalesce(o.imputed, false) <> coalesce(r.imputed, false) THEN 'coverage'
            WHEN o.period_used IS DISTINCT FROM r.period_used THEN 'new_period'
            WHEN o.raw_value IS DISTINCT FROM r.raw_value THEN 'data_revision'
            WHEN (SELECT unscored_change FROM config) THEN 'method_config'
            ELSE 'relative'
        END AS change_type
    FROM old_cells AS o
    FULL OUTER JOIN rescored_cells AS r USING (indicator_key)
    LEFT JOIN new_cells AS n ON n.indicator_key = coalesce(r.indicator_key, o.indicator_key)
    LEFT JOIN old_weights AS ow ON ow.pillar = coalesce(r.pillar, o.pillar)
    LEFT JOIN rescored_weights AS rw ON rw.pillar = coalesce(r.pillar, o.pillar)
),
changed_cells AS (
    SELECT c.*, c.contribution_to_pillar * coalesce(ps.share, 0) AS contribution_to_composite
    FROM cells AS c LEFT JOIN pillar_share AS ps USING (pillar)
    WHERE c.old_score IS DISTINCT FROM c.old_config_score OR c.old_value IS DISTINCT FROM c.new_value
       OR c.old_period IS DISTINCT FROM c.new_period OR c.old_imputed IS DISTINCT FROM c.new_imputed
),
lineage AS (  -- the sha256 of the raw files the old and new values came from
    SELECT DISTINCT raw_file, raw_sha256, 'old' AS side FROM __old__.fct_indicator_values JOIN focus USING (iso3)
    UNION ALL
    SELECT DISTINCT raw_file, raw_sha256, 'new' AS side FROM __new__.fct_indicator_values JOIN focus USING (iso3)
),
scores AS (
    SELECT 'composite' AS level, o.score AS old_score, n.score AS new_score, o.rank AS old_rank, n.rank AS new_rank,
           r.score AS old_config_score, r.rank AS old_config_rank
    FROM focus
    LEFT JOIN __old__.mart_composite_index AS o USING (iso3)
    LEFT JOIN __new__.mart_composite_index AS n USING (iso3)
    LEFT JOIN __old_config__.mart_composite_index AS r USING (iso3)
    UNION ALL
    SELECT coalesce(n.pillar, r.pillar, o.pillar), o.score, n.score, o.rank, n.rank, r.score, r.rank
    FROM (SELECT * FROM __old__.mart_pillar_scores JOIN focus USING (iso3)) AS o
    FULL OUTER JOIN (SELECT * FROM __new__.mart_pillar_scores JOIN focus USING (iso3)) AS n USING (pillar)
    FULL OUTER JOIN (SELECT * FROM __old_config__.mart_pillar_scores JOIN focus USING (iso3)) AS r
        ON r.pillar = coalesce(n.pillar, o.pillar)
),
rescored_moves AS (  -- focus cells whose score or weight the configuration change moved (new data on both sides)
    SELECT coalesce(n.pillar, r.pillar) AS pillar
    FROM rescored_cells AS r
    FULL OUTER JOIN new_cells AS n USING (indicator_key)
    WHERE r.normalised_score IS DISTINCT FROM n.normalised_score
       OR r.weight_in_pillar IS DISTINCT FROM n.weight_in_pillar
       OR r.pillar IS DISTINCT FROM n.pillar
),
method_part AS (  -- new score - score(new data, old config), with the cells it moved
    SELECT s.level, coalesce(s.new_score, 0) - coalesce(s.old_config_score, 0) AS contribution,
           (SELECT count(*) FROM rescored_moves AS m WHERE s.level IN ('composite', m.pillar)) AS n_cells
    FROM scores AS s
),
cell_rows AS (
    SELECT pillar AS level, change_type, contribution_to_pillar AS contribution FROM changed_cells
    UNION ALL
    SELECT 'composite', change_type, contribution_to_composite FROM changed_cells
),
attribution AS (
    SELECT s.level, t.change_type,
           coalesce(sum(r.contribution), 0)
               + CASE WHEN t.change_type = 'method_config' THEN max(m.contribution) ELSE 0 END AS contribution,
           count(r.contribution) + CASE WHEN t.change_type = 'method_config' THEN max(m.n_cells) ELSE 0 END AS n_cells
    FROM scores AS s
    CROSS JOIN (VALUES ('data_revision'), ('new_period'), ('coverage'), ('method_config'), ('relative')) AS t(change_type)
    LEFT JOIN cell_rows AS r ON r.level = s.level AND r.change_type = t.change_type
    LEFT JOIN method_part AS m ON m.level = s.level
    GROUP BY s.level, t.change_type
),
unattributed AS (  -- the data part the cells do not explain
    SELECT s.level, 'unattributed' AS change_type,
           coalesce(s.old_config_score, 0) - coalesce(s.old_score, 0)
               - coalesce((SELECT sum(r.contribution) FROM cell_rows AS r WHERE r.level = s.level), 0) AS contribution,
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
    old_config_score, old_config_rank,
    CAST(NULL AS DOUBLE) AS contribution, CAST(NULL AS BIGINT) AS n_cells, CAST(NULL AS BIGINT) AS contribution_rank,
    CAST(NULL AS VARCHAR) AS old_period, CAST(NULL AS VARCHAR) AS new_period,
    CAST(NULL AS DOUBLE) AS old_value, CAST(NULL AS DOUBLE) AS new_value,
    CAST(NULL AS VARCHAR) AS old_raw_file, CAST(NULL AS VARCHAR) AS old_raw_row, CAST(NULL AS VARCHAR) AS old_raw_sha256,
    CAST(NULL AS VARCHAR) AS new_raw_file, CAST(NULL AS VARCHAR) AS new_raw_row, CAST(NULL AS VARCHAR) AS new_raw_sha256,
    CAST(NULL AS VARCHAR) AS peer_move,
    CAST(NULL AS VARCHAR) AS config_key, CAST(NULL AS VARCHAR) AS old_config_value,
    CAST(NULL AS VARCHAR) AS new_config_value,
    (SELECT coalesce(bool_or(rescored), false) FROM __old_config__.config_changes) AS rescored
FROM scores
UNION ALL
SELECT 'attribution', level, (SELECT iso3 FROM focus), change_type, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, contribution, n_cells, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM (SELECT * FROM attribution UNION ALL SELECT * FROM unattributed)
UNION ALL
SELECT 'cell', c.pillar, (SELECT iso3 FROM focus), c.change_type, c.indicator_key, c.indicator_label, c.source_id,
       c.source_code, c.old_score, c.new_score, c.new_score - c.old_score, NULL, NULL, NULL,
       c.old_config_score, NULL,
       c.contribution_to_composite, 1,
       row_number() OVER (ORDER BY abs(c.contribution_to_composite) DESC NULLS LAST, c.indicator_key),
       c.old_period, c.new_period, c.old_value, c.new_value,
       c.old_raw_file, c.old_raw_row,
       (SELECT string_agg(DISTINCT l.raw_sha256, ',') FROM lineage AS l WHERE l.side = 'old' AND l.raw_file = c.old_raw_file),
       c.new_raw_file, c.new_raw_row,
       (SELECT string_agg(DISTINCT l.raw_sha256, ',') FROM lineage AS l WHERE l.side = 'new' AND l.raw_file = c.new_raw_file),
       NULL, NULL, NULL, NULL, NULL
FROM changed_cells AS c
UNION ALL
SELECT 'config', split_part(config_key, '.', 1), (SELECT iso3 FROM focus), 'method_config', NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       config_key, old_value, new_value, rescored
FROM __old_config__.config_changes
UNION ALL
SELECT 'peer', level, iso3, NULL, NULL, NULL, NULL, NULL, old_score, new_score, new_score - old_score,
       old_rank, new_rank, new_rank - old_rank, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, peer_move, NULL, NULL, NULL, NULL
FROM peers
ORDER BY row_kind DESC, level, contribution_rank NULLS LAST, change_type, iso3, config_key
