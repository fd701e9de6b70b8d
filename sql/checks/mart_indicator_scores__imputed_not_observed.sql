-- An imputed cell is never shown as observed (no year, raw value or raw row of its own), and an observed cell
-- names the raw file and row its value came from. Cells that break it; none when the check passes.
SELECT iso3, indicator_key, imputed, year_used, raw_value, value_used, raw_file, raw_row
FROM mart_indicator_scores
WHERE (imputed AND (year_used IS NOT NULL OR raw_value IS NOT NULL OR raw_row IS NOT NULL))
   OR (NOT imputed AND value_used IS NOT NULL AND (raw_file IS NULL OR raw_row IS NULL OR year_used IS NULL))
ORDER BY indicator_key, iso3
LIMIT 20
