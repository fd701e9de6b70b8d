-- Correlations of the nominal index (Pearson, normalised scores after imputation): every pair of indicators within
-- a pillar (flag negative or redundant), each indicator with its pillar (flag weak or negative) and with the
-- composite, each pillar with the composite.
SELECT
    c.kind,
    c.pillar,
    c.item_a,
    coalesce(fa.label, pa.label, c.item_a) AS item_a_label,
    c.item_b,
    coalesce(fb.label, pb.label, CASE WHEN c.item_b = 'composite' THEN 'Composite' END, c.item_b) AS item_b_label,
    c.r,
    c.p_value,
    c.n,
    c.flag
FROM int_audit_correlations AS c
LEFT JOIN ref_framework AS fa ON fa.key = c.item_a
LEFT JOIN ref_pillars AS pa ON pa.pillar = c.item_a
LEFT JOIN ref_framework AS fb ON fb.key = c.item_b
LEFT JOIN ref_pillars AS pb ON pb.pillar = c.item_b
ORDER BY c.kind, c.pillar, c.item_a, c.item_b
