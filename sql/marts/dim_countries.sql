-- Every ISO3 country, with names, memberships (G7, OECD, EU-27), World Bank region and income group,
-- latest WDI population (and its year), and how much data we hold for it. Peer groups: dim_country_groups.
WITH population AS (
    SELECT iso3, arg_max(value, year) AS population, max(year) AS population_year
    FROM fct_indicator_values
    WHERE source_id = 'worldbank_wdi' AND source_code = 'SP.POP.TOTL'
    GROUP BY iso3
)
SELECT
    c.*,
    wb.region AS wb_region,
    wb.income_group AS wb_income_group,
    p.population,
    p.population_year,
    coalesce(f.n_values, 0) AS n_values,
    coalesce(f.n_sources, 0) AS n_sources
FROM ref_countries AS c
LEFT JOIN ref_wb_country_groups AS wb ON wb.iso3 = c.iso3
LEFT JOIN population AS p ON p.iso3 = c.iso3
LEFT JOIN (
    SELECT iso3, count(*) AS n_values, count(DISTINCT source_id) AS n_sources
    FROM fct_indicator_values
    GROUP BY iso3
) AS f ON f.iso3 = c.iso3
ORDER BY c.iso3
