-- Sources in the last release that this run did not build (e.g. AI_READINESS_SOURCES limited the run).
SELECT source_id, count(*) AS last_values, count(DISTINCT iso3) AS last_countries
FROM published.fct_indicator_values
WHERE source_id NOT IN (SELECT unnest($sources))
GROUP BY ALL
ORDER BY ALL
