-- What the coverage screening dropped, and why (indicator or country, coverage vs threshold).
SELECT
    d.kind,
    d.entity,
    coalesce(f.label, c.name) AS label,
    d.rule,
    d.coverage,
    d.n_pillars,
    d.threshold,
    d.reason
FROM int_index_dropped AS d
LEFT JOIN ref_framework AS f ON d.kind = 'indicator' AND f.key = d.entity
LEFT JOIN dim_countries AS c ON d.kind = 'country' AND c.iso3 = d.entity
ORDER BY d.kind, d.entity
