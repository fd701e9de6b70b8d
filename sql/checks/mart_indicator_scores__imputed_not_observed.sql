-- An imputed cell is never shown as observed (no raw value or raw row of its own; a year only when it is a
-- censored cell, whose period is known), and an observed cell names the raw file and row its value came from, or,
-- for a structural zero, the list file it is absent from. Cells that break it; none when the check passes.
SELECT iso3, indicator_key, imputed, is_structural_zero, is_censored, year_used, raw_value, value_used, raw_file,
       raw_row
FROM mart_indicator_scores
WHERE (imputed AND (raw_value IS NOT NULL OR raw_row IS NOT NULL OR (year_used IS NOT NULL AND NOT is_censored)))
   OR (NOT imputed AND value_used IS NOT NULL
       AND (raw_file IS NULL OR year_used IS NULL OR (raw_row IS NULL AND NOT is_structural_zero)))
ORDER BY indicator_key, iso3
LIMIT 20
