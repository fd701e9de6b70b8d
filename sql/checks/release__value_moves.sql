-- Cells whose value moved by more than $factor (either way) since the last release; both values and both rows.
SELECT
    b.source_id,
    b.indicator_id,
    b.iso3,
    b.period,
    l.value AS last_value,
    b.value,
    greatest(abs(b.value), abs(l.value)) / least(abs(b.value), abs(l.value)) AS factor,
    b.raw_file,
    b.raw_row,
    l.raw_file || ':' || l.raw_row AS last_row
FROM build.fct_indicator_values AS b
JOIN published.fct_indicator_values AS l USING (source_id, indicator_id, iso3, period)
WHERE b.value <> 0 AND l.value <> 0
    AND greatest(abs(b.value), abs(l.value)) / least(abs(b.value), abs(l.value)) > $factor
ORDER BY factor DESC, b.source_id, b.indicator_id, b.iso3, b.period
