-- The focus country's composite rank and score with each indicator of the index left out in turn (the rest of the
-- method nominal, the same countries), and how far all countries' ranks move.
SELECT
    r.focus_iso3,
    r.key,
    f.label AS indicator_label,
    r.pillar,
    r.nominal_rank,
    r.rank_without,
    r.rank_change,
    r.nominal_score,
    r.score_without,
    r.median_abs_rank_shift
FROM int_audit_removal AS r
LEFT JOIN ref_framework AS f ON f.key = r.key
ORDER BY abs(r.rank_change) DESC, r.key
