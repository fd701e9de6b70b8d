-- The published fact behind a value: by indicator_id or source_code, for a given period or year (the latest
-- period of the year when only the year is known, as the annual view int_indicator_values_annual does).
SELECT period, year, value, unit, note, raw_file, raw_row, raw_sha256, is_provisional, is_secondary
FROM fct_indicator_values
WHERE source_id = $source_id AND iso3 = $iso3
  AND (indicator_id = $indicator_id OR source_code = $source_code)
  AND (period = $period OR $period IS NULL)
  AND (year = $year OR $year IS NULL)
ORDER BY year DESC, period DESC
LIMIT $limit
