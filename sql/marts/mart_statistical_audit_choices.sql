-- The focus country's composite rank under each level of each discrete method choice, over the sensitivity runs
-- that used it (the other inputs varying): which way a choice moves the rank.
SELECT
    c.focus_iso3,
    c.input,
    c.level,
    c.n_runs,
    c.focus_rank_median,
    c.focus_rank_p05,
    c.focus_rank_p95,
    c.median_rank_shift_mean
FROM int_audit_choices AS c
ORDER BY c.input, c.level
