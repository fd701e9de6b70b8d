-- Why a country or an indicator is not scored (empty when neither was dropped by screening).
SELECT entity, reason
FROM mart_screening
WHERE (kind = 'country' AND entity = $iso3) OR (kind = 'indicator' AND entity = $key)
ORDER BY kind, rule
