-- Data dictionary: every source with its licence, terms, restrictions, vintage, cadence and caveats.
SELECT source_id, publisher, dataset, homepage, licence, terms, restrictions, vintage, update_cadence_days, caveats
FROM dim_sources
ORDER BY source_id
