-- How much data we hold for Japan, source by source: indicators with at least one Japanese value out of the
-- source's indicators, Japan's latest year against the source's latest year, and flagged values.
-- Sources with japan_indicators = 0 are gaps to close (or sources that do not cover Japan at all).
WITH per_source AS (
    SELECT
        source_id,
        count(DISTINCT indicator_id) AS indicators,
        max(year) AS source_last_year,
        count(DISTINCT indicator_id) FILTER (WHERE iso3 = 'JPN') AS japan_indicators,
        count(*) FILTER (WHERE iso3 = 'JPN') AS japan_values,
        max(year) FILTER (WHERE iso3 = 'JPN') AS japan_last_year,
        count(*) FILTER (WHERE iso3 = 'JPN' AND (is_provisional OR is_secondary OR is_partial_year)) AS japan_flagged
    FROM fct_indicator_values
    GROUP BY source_id
)
SELECT
    s.source_id,
    s.publisher,
    coalesce(p.japan_indicators, 0) AS japan_indicators,
    coalesce(p.indicators, 0) AS indicators,
    coalesce(p.japan_values, 0) AS japan_values,
    p.japan_last_year,
    p.source_last_year,
    coalesce(p.japan_flagged, 0) AS japan_flagged
FROM dim_sources AS s
LEFT JOIN per_source AS p USING (source_id)
ORDER BY japan_indicators::DOUBLE / nullif(indicators, 0) NULLS FIRST, s.source_id
