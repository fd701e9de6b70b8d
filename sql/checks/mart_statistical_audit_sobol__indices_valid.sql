-- Sobol indices are shares of variance: within [0, 1] and first order <= total, up to the estimator's sampling error
-- (its bootstrap half-width plus 0.05); one row per (output, input); and the sensitivity's nominal run reproduces
-- the published rank of the focus country (the audit explains the index as built, not another one).
SELECT output, input, 'listed more than once' AS problem FROM mart_statistical_audit_sobol
GROUP BY output, input HAVING count(*) > 1
UNION ALL
SELECT output, input, 's1 ' || s1 || ' outside [0, 1] beyond sampling error' FROM mart_statistical_audit_sobol
WHERE s1 < -(0.05 + s1_conf) OR s1 > 1 + 0.05 + s1_conf
UNION ALL
SELECT output, input, 'st ' || st || ' outside [0, 1] beyond sampling error' FROM mart_statistical_audit_sobol
WHERE st < -(0.05 + st_conf) OR st > 1 + 0.05 + st_conf
UNION ALL
SELECT output, input, 's1 ' || s1 || ' above st ' || st || ' beyond sampling error' FROM mart_statistical_audit_sobol
WHERE s1 > st + 0.05 + s1_conf + st_conf
UNION ALL
SELECT s.output, s.input, 'nominal rank ' || s.output_nominal || ' is not the published rank ' || c.rank
FROM mart_statistical_audit_sobol AS s JOIN int_index_composite AS c ON c.iso3 = s.focus_iso3
WHERE s.output = 'focus_rank' AND s.output_nominal IS DISTINCT FROM c.rank
