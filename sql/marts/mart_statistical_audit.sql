-- Statistical coherence audit per pillar (and of the composite over its pillars), JRC COIN style: Cronbach's alpha,
-- first principal component's share of variance, range and flags of the within-pillar correlations, weakest
-- indicator-to-pillar correlation, pillar-to-composite correlation, and the flags in words.
SELECT
    a.pillar,
    CASE WHEN a.pillar = 'composite' THEN 'Composite' ELSE coalesce(p.label, a.pillar) END AS pillar_label,
    a.n_items,
    a.n_complete,
    a.cronbach_alpha,
    a.first_pc_eigenvalue,
    a.first_pc_share,
    a.min_r,
    a.max_r,
    a.n_negative_pairs,
    a.n_redundant_pairs,
    a.min_indicator_pillar_r,
    a.pillar_composite_r,
    a.flags
FROM int_audit_pillars AS a
LEFT JOIN ref_pillars AS p ON p.pillar = a.pillar
ORDER BY a.pillar = 'composite', a.pillar
