-- Variance-based sensitivity (Sobol indices, SALib) of the focus country's composite rank and of the median
-- absolute rank shift of all countries, per uncertain input of the method; with the output's spread over the runs.
SELECT
    s.focus_iso3,
    s.output,
    s.input,
    s.s1,
    s.s1_conf,
    s.st,
    s.st_conf,
    s.output_nominal,
    s.output_mean,
    s.output_median,
    s.output_p05,
    s.output_p95,
    s.n_runs,
    s.base_samples,
    s.seed
FROM int_audit_sobol AS s
ORDER BY s.output, s.st DESC NULLS LAST, s.input
