-- Countries per source (indicator_id NULL) and per (source, indicator) in the last release, and which of them
-- this build lost, with the release's raw_file:raw_row of one lost fact each. Only sources built in this run.
WITH last AS (
    SELECT * FROM published.fct_indicator_values WHERE source_id IN (SELECT unnest($sources))
),
last_cells AS (
    SELECT source_id, indicator_id, iso3, min(raw_file || ':' || raw_row) AS last_row
    FROM last
    GROUP BY GROUPING SETS ((source_id, iso3), (source_id, indicator_id, iso3))
),
build_cells AS (
    SELECT DISTINCT source_id, indicator_id, iso3 FROM build.fct_indicator_values
    UNION ALL
    SELECT DISTINCT source_id, NULL AS indicator_id, iso3 FROM build.fct_indicator_values
)
SELECT
    l.source_id,
    l.indicator_id,
    count(*) AS last_countries,
    count(*) FILTER (WHERE b.iso3 IS NULL) AS lost_countries,
    list(l.iso3 ORDER BY l.iso3) FILTER (WHERE b.iso3 IS NULL) AS lost,
    list(l.last_row ORDER BY l.iso3) FILTER (WHERE b.iso3 IS NULL) AS lost_rows
FROM last_cells AS l
LEFT JOIN build_cells AS b
    ON b.source_id = l.source_id AND b.indicator_id IS NOT DISTINCT FROM l.indicator_id AND b.iso3 = l.iso3
GROUP BY ALL
HAVING count(*) FILTER (WHERE b.iso3 IS NULL) > 0
ORDER BY l.source_id, l.indicator_id NULLS FIRST
