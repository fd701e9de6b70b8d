-- The focus country's cells (source, indicator, period) in the last release that this build no longer has.
SELECT l.source_id, l.indicator_id, l.iso3, l.period, l.value AS last_value, l.raw_file, l.raw_row
FROM published.fct_indicator_values AS l
ANTI JOIN build.fct_indicator_values AS b USING (source_id, indicator_id, iso3, period)
WHERE l.iso3 = $focus AND l.source_id IN (SELECT unnest($sources))
ORDER BY l.source_id, l.indicator_id, l.period
