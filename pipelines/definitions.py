"""The Dagster code location: thin on purpose, everything lives in pipelines/defs/."""

import dagster as dg

import pipelines.defs


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_defs(pipelines.defs)
