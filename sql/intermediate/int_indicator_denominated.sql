-- Framework indicators, per country and year, divided by their denominator from WDI: population or GDP of the
-- same year, or else the latest earlier year (ASOF join); the denominator's year is recorded.
WITH population AS (
    SELECT iso3, year, value AS population
    FROM int_indicator_values_annual
    WHERE source_id = 'worldbank_wdi' AND source_code = 'SP.POP.TOTL'
),
gdp AS (
    SELECT iso3, year, value AS gdp_usd
    FROM int_indicator_values_annual
    WHERE source_id = 'worldbank_wdi' AND source_code = 'NY.GDP.MKTP.CD'
),
framework_values AS (
    SELECT
        f.key,
        f.pillar,
        f.denominator,
        f.scale,
        a.iso3,
        a.year,
        a.period,
        a.value AS raw_value,
        a.raw_file,
        a.raw_row
    FROM ref_framework AS f
    JOIN int_indicator_values_annual AS a USING (source_id, indicator_id)
)
SELECT
    v.key,
    v.pillar,
    v.iso3,
    v.year,
    v.period,
    v.raw_value,
    v.denominator,
    CASE v.denominator
        WHEN 'per_million_people' THEN p.year
        WHEN 'per_billion_gdp_usd' THEN g.year
    END AS denominator_year,
    CASE v.denominator
        WHEN 'none' THEN v.raw_value * v.scale
        WHEN 'per_million_people' THEN v.raw_value * v.scale / (p.population / 1e6)
        WHEN 'per_billion_gdp_usd' THEN v.raw_value * v.scale / (g.gdp_usd / 1e9)
    END AS value,
    v.raw_file,
    v.raw_row
FROM framework_values AS v
ASOF LEFT JOIN population AS p ON p.iso3 = v.iso3 AND v.year >= p.year
ASOF LEFT JOIN gdp AS g ON g.iso3 = v.iso3 AND v.year >= g.year
