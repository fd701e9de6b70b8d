-- Peer groups as data (config/peer_groups.yaml resolved against dim_countries): one row per group and member.
SELECT group_id, label AS group_label, iso3
FROM ref_peer_group_members
ORDER BY group_id, iso3
