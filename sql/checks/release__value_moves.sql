-- Cells whose value moved by $warn_factor or more (either way) since the last release, with both values and rows.
-- A ratio needs two non-zero values (a unit error multiplies, so it never turns 0 into a number or back), and
-- near zero it says nothing: the change must also be at least $min_change_share of the indicator's typical
-- magnitude, the median |value| of its non-zero cells in the last release. $ratio_tolerance lets a x10 written
-- as decimal text (a ratio of 9.999999999999998) count as x10.
WITH typical AS (
    SELECT source_id, indicator_id, median(abs(value)) AS typical_magnitude
    FROM published.fct_indicator_values
    WHERE value <> 0 AND source_id IN (SELECT unnest($sources))
    GROUP BY ALL
),
moves AS (
    SELECT
        b.source_id,
        b.indicator_id,
        b.iso3,
        b.period,
        l.value AS last_value,
        b.value,
        greatest(abs(b.value), abs(l.value)) / least(abs(b.value), abs(l.value)) AS factor,
        abs(b.value - l.value) AS change,
        t.typical_magnitude,
        b.raw_file,
        b.raw_row,
        b.raw_sha256,
        l.raw_file || ':' || l.raw_row AS last_row
    FROM build.fct_indicator_values AS b
    JOIN published.fct_indicator_values AS l USING (source_id, indicator_id, iso3, period)
    JOIN typical AS t USING (source_id, indicator_id)
    WHERE b.value <> 0 AND l.value <> 0 AND b.source_id IN (SELECT unnest($sources))
)
SELECT *
FROM moves
WHERE factor >= $warn_factor * (1 - $ratio_tolerance) AND change >= $min_change_share * typical_magnitude
ORDER BY factor DESC, source_id, indicator_id, iso3, period
