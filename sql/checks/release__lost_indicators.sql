-- Indicators a built source had in the last release and no longer has, with one raw_file:raw_row each.
SELECT
    l.source_id,
    l.indicator_id,
    count(*) AS last_values,
    min(l.raw_file || ':' || l.raw_row) AS last_row
FROM published.fct_indicator_values AS l
ANTI JOIN build.fct_indicator_values AS b USING (source_id, indicator_id)
WHERE l.source_id IN (SELECT unnest($sources))
GROUP BY ALL
ORDER BY ALL
