"""Named crash points for the crash-safety tests: `AI_READINESS_CRASH_AT=<name>` kills the build process with
SIGKILL when it reaches that point (no clean-up runs, as in a power cut). A no-op otherwise.

Points, in pipeline order (tests/test_crash_safety.py kills a build at each):
  fetch:temp_written           a raw file written to its temp name, not yet renamed (pipelines/sources/fetch.py)
  ingest:raw_fetched           a source's raw files fetched and verified (pipelines/defs/sources.py)
  staging:uncommitted          inside the transaction replacing stg_<source> (pipelines/staging/stage.py)
  staging:written              stg_<source> committed, build warehouse still open (pipelines/defs/staging.py)
  check:<table>                a check about to read <table> (pipelines/defs/validation.py)
  core:<table>                 fct_/dim_ <table> built (pipelines/defs/staging.py)
  marts:<table>                an int_/mart_ <table> built (pipelines/defs/model.py)
  export:<table>               <table> copied into the release DuckDB file, in .partial (pipelines/publish/release.py)
  export:parquet_written       release DuckDB and Parquet written, report and docs not yet
  publish:release_written      the release complete, still named .partial
  publish:release_renamed      the release renamed, `current` not flipped
  publish:current_swapped      `current` flipped, entry links not yet checked
  publish:done                 published and pruned, the build not yet reported
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "AI_READINESS_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
