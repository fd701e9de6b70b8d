-- Every row traces to a raw row, or is a kind of absence the framework declares (ref_framework.absence): a
-- structural zero (value 0, the list file, no row: the economy is not in the list) or a censored cell (no value,
-- known to lie below the publisher's threshold, the file of the period). Rows breaking that; none when it passes.
SELECT iso3, year_used AS year, raw_file, raw_row, value, is_structural_zero, is_censored
FROM int_indicator_latest
WHERE raw_file IS NULL
   OR (raw_row IS NULL AND NOT (coalesce(is_structural_zero, false) OR coalesce(is_censored, false)))
   OR (value IS NULL AND NOT coalesce(is_censored, false))
   OR (is_structural_zero AND value <> 0)
ORDER BY iso3, year_used
LIMIT 20
