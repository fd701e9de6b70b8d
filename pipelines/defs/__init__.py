"""Dagster objects only, one module per layer; pipelines.definitions loads this folder."""
