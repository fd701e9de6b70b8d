"""ai-readiness: the Dagster code location (`pipelines.definitions`) and its plain helpers (`pipelines.lib`)."""
