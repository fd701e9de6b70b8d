-- Rows whose key (source_id, indicator_id, iso3, period) is not unique; empty when the check passes.
SELECT source_id, indicator_id, iso3, period, count(*) AS n, string_agg(raw_file || ':' || raw_row, '; ') AS rows
FROM fct_indicator_values
GROUP BY ALL
HAVING count(*) > 1
ORDER BY n DESC
LIMIT 20
