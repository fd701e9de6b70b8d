-- Framework indicators, per country and year, divided by their denominator from WDI: population or GDP of the
-- same year, or else the latest earlier year (ASOF join); the denominator's year is recorded.
-- A structural zero is zero per anything (it needs no denominator); a censored cell has no value but a bound, the
-- publisher's threshold divided by the same denominator.
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
        a.raw_row,
        a.is_structural_zero,
        a.is_censored,
        a.censored_below
    FROM ref_framework AS f
    JOIN int_indicator_values_annual AS a USING (source_id, indicator_id)
),
divided AS (
    SELECT
        v.*,
        CASE v.denominator
            WHEN 'per_million_people' THEN p.year
            WHEN 'per_billion_gdp_usd' THEN g.year
        END AS denominator_year,
        CASE v.denominator
            WHEN 'none' THEN v.scale
            WHEN 'per_million_people' THEN v.scale / (p.population / 1e6)
            WHEN 'per_billion_gdp_usd' THEN v.scale / (g.gdp_usd / 1e9)
        END AS factor
    FROM framework_values AS v
    ASOF LEFT JOIN population AS p ON p.iso3 = v.iso3 AND v.year >= p.year
    ASOF LEFT JOIN gdp AS g ON g.iso3 = v.iso3 AND v.year >= g.year
)
SELECT
    key,
    pillar,
    iso3,
    year,
    period,
    raw_value,
    denominator,
    CASE WHEN NOT is_structural_zero THEN denominator_year END AS denominator_year,
    CASE WHEN is_structural_zero THEN 0.0 ELSE raw_value * factor END AS value,
    raw_file,
    raw_row,
    is_structural_zero,
    is_censored,
    censored_below * factor AS censored_bound
FROM divided
