-- Every ISO3 country, with names, memberships (G7, G20, OECD, EU), World Bank region and income group,
-- and how much data we hold for it.
SELECT
    c.*,
    wb.region AS wb_region,
    wb.income_group AS wb_income_group,
    coalesce(f.n_values, 0) AS n_values,
    coalesce(f.n_sources, 0) AS n_sources
FROM ref_countries AS c
LEFT JOIN ref_wb_country_groups AS wb ON wb.iso3 = c.iso3
LEFT JOIN (
    SELECT iso3, count(*) AS n_values, count(DISTINCT source_id) AS n_sources
    FROM fct_indicator_values
    GROUP BY iso3
) AS f ON f.iso3 = c.iso3
ORDER BY c.iso3
