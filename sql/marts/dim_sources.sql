-- One row per source: publisher, licence and terms, vintage, cadence, caveats, and what reached the facts.
SELECT
    s.*,
    coalesce(f.n_values, 0) AS n_country_values,
    coalesce(f.n_countries, 0) AS n_countries,
    coalesce(f.n_indicators, 0) AS n_indicators
FROM ref_sources AS s
LEFT JOIN (
    SELECT source_id, count(*) AS n_values, count(DISTINCT iso3) AS n_countries, count(DISTINCT indicator_id) AS n_indicators
    FROM fct_indicator_values
    GROUP BY source_id
) AS f USING (source_id)
ORDER BY s.source_id
