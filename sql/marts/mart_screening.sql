-- What the coverage screening dropped (indicators or countries), and why (coverage vs threshold). For a dropped
-- country, missing_denominators names the values it has that could not be divided by population or GDP because
-- the World Bank WDI (the only source of both in the mirror) has no row for it (e.g. Taiwan).
WITH undenominated AS (
    SELECT
        d.iso3,
        string_agg(DISTINCT CASE d.denominator
            WHEN 'per_million_people' THEN 'population (worldbank_wdi SP.POP.TOTL)'
            WHEN 'per_billion_gdp_usd' THEN 'GDP (worldbank_wdi NY.GDP.MKTP.CD)'
        END, ' and ') AS denominators,
        string_agg(DISTINCT d.key, ', ' ORDER BY d.key) AS indicator_keys,
        count(DISTINCT d.key) AS n_indicators
    FROM int_indicator_denominated AS d
    WHERE d.raw_value IS NOT NULL AND d.value IS NULL AND d.denominator <> 'none' AND NOT d.is_structural_zero
    GROUP BY d.iso3
)
SELECT
    d.kind,
    d.entity,
    coalesce(f.label, c.name) AS label,
    d.rule,
    d.coverage,
    d.n_pillars,
    d.threshold,
    d.reason,
    CASE WHEN u.iso3 IS NOT NULL THEN
        'no ' || u.denominators || ' for this economy in the mirror, so ' || u.n_indicators
        || ' indicators it has values for cannot be denominated: ' || u.indicator_keys
    END AS missing_denominators
FROM int_index_dropped AS d
LEFT JOIN ref_framework AS f ON d.kind = 'indicator' AND f.key = d.entity
LEFT JOIN dim_countries AS c ON d.kind = 'country' AND c.iso3 = d.entity
LEFT JOIN undenominated AS u ON d.kind = 'country' AND u.iso3 = d.entity
ORDER BY d.kind, d.entity
