-- Generative-AI use (Microsoft AI Diffusion telemetry, % of working-age people) period by period: Japan against
-- each G7 economy and the G7 median, straight from the published facts (every value traceable via raw_file/raw_row).
WITH genai AS (
    SELECT f.period, f.iso3, f.value
    FROM fct_indicator_values AS f
    JOIN dim_framework AS fw ON fw.source_id = f.source_id AND fw.indicator_id = f.indicator_id
    WHERE fw.indicator_key = 'genai_user_share'
),
g7 AS (
    SELECT iso3 FROM dim_country_groups WHERE group_id = 'g7'
)
SELECT
    g.period,
    max(g.value) FILTER (WHERE g.iso3 = 'JPN') AS japan,
    median(g.value) FILTER (WHERE g.iso3 <> 'JPN') AS g7_peer_median,
    max(g.value) FILTER (WHERE g.iso3 = 'USA') AS usa,
    max(g.value) FILTER (WHERE g.iso3 = 'GBR') AS gbr,
    max(g.value) FILTER (WHERE g.iso3 = 'DEU') AS deu,
    max(g.value) FILTER (WHERE g.iso3 = 'FRA') AS fra,
    max(g.value) FILTER (WHERE g.iso3 = 'ITA') AS ita,
    max(g.value) FILTER (WHERE g.iso3 = 'CAN') AS can,
    count(*) FILTER (WHERE g.iso3 <> 'JPN') AS n_peers
FROM genai AS g
JOIN g7 USING (iso3)
GROUP BY g.period
ORDER BY g.period
