-- Every deployment & adoption series in the registry, and what it says about the focus country: whether it is
-- scored in the composite, a cross-check shown beside the scored series (a different measure, never pooled), or
-- without a value for the focus country (so it cannot be benchmarked). The focus country's every published period,
-- and for series covering few economies every economy's latest value, are listed so the reader sees the evidence.
WITH series AS (
    SELECT source_id, indicator_id, source_code, indicator_name, unit, n_countries
    FROM dim_indicators
    WHERE pillar = 'deployment_adoption'
),
focus_values AS (
    SELECT
        v.source_id,
        v.indicator_id,
        string_agg(v.period || ': ' || CAST(round(v.value, 1) AS VARCHAR), '; ' ORDER BY v.period) AS focus_periods,
        count(*) AS n_focus_periods
    FROM fct_indicator_values AS v
    JOIN ref_focus AS f ON f.focus_iso3 = v.iso3
    GROUP BY v.source_id, v.indicator_id
),
latest AS (
    SELECT source_id, indicator_id, iso3, period, value
    FROM fct_indicator_values
    QUALIFY row_number() OVER (PARTITION BY source_id, indicator_id, iso3 ORDER BY period DESC) = 1
),
few AS (
    SELECT source_id, indicator_id,
           string_agg(iso3 || ' ' || CAST(round(value, 1) AS VARCHAR) || ' (' || period || ')', '; ' ORDER BY iso3)
               AS every_economy_latest
    FROM latest
    GROUP BY source_id, indicator_id
    HAVING count(*) <= 10
),
framework AS (
    SELECT r.source_id, r.indicator_id, r.key, w.weight IS NOT NULL AS is_scored
    FROM ref_framework AS r
    LEFT JOIN int_index_weights AS w ON w.level = 'indicator' AND w.id = r.key
)
SELECT
    s.source_id,
    s.source_code,
    s.indicator_name,
    s.unit,
    s.n_countries,
    fw.key AS indicator_key,
    coalesce(fw.is_scored, false) AS is_scored,
    coalesce(fv.n_focus_periods, 0) AS n_focus_periods,
    fv.focus_periods,
    few.every_economy_latest,
    CASE
        WHEN fw.is_scored AND fv.n_focus_periods > 0 THEN 'scored in the composite'
        WHEN fw.key IS NOT NULL AND fv.n_focus_periods IS NULL
            THEN 'no value for the focus country: not benchmarked for it'
                 || CASE WHEN NOT fw.is_scored THEN '; screened out of the composite (coverage)' ELSE '' END
        WHEN fw.key IS NOT NULL THEN 'screened out of the composite (coverage); benchmarked against peers'
        WHEN fv.n_focus_periods > 0 THEN 'cross-check shown beside the scored series: a different measure, never pooled'
        ELSE 'no value for the focus country'
    END AS role
FROM series AS s
LEFT JOIN focus_values AS fv USING (source_id, indicator_id)
LEFT JOIN few USING (source_id, indicator_id)
LEFT JOIN framework AS fw USING (source_id, indicator_id)
ORDER BY is_scored DESC, n_focus_periods DESC, s.source_id, s.source_code
