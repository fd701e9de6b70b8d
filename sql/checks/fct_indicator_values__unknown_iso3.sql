-- Facts whose iso3 is not in the country dimension; empty when the check passes.
SELECT f.source_id, f.iso3, f.raw_file, f.raw_row
FROM fct_indicator_values AS f
ANTI JOIN ref_countries AS c ON c.iso3 = f.iso3
LIMIT 20
