"""ai-readiness: the Dagster code location (`pipelines.definitions`) and the plain Python it runs, one package per
stage of the data path: sources → staging → validation → model → publish, on a shared `base`."""
