"""Import a heavy library on a background thread while a run's first steps work: GX takes ~3 s to import and is
first needed by the checks, after fetching and staging. Over a large mirror those mostly wait on DuckDB and the
disk, with the GIL free (100x: checks 19.8 -> 15.4 s); over today's mirror fetching is Python, which the import
slows by ~2 s, for ~0.3 s net."""

from __future__ import annotations

import importlib
import threading
from contextlib import contextmanager
from typing import Iterator

WARMED_FOR_A_RUN = ("great_expectations",)


@contextmanager
def imported_in_background(modules=WARMED_FOR_A_RUN) -> Iterator[threading.Thread]:
    """Import `modules` on a thread while the block runs; the block's end waits for it (an import still running
    at interpreter shutdown can crash it). A failed import is left for the code that needs the module to repeat
    and report."""
    import numpy  # noqa: F401  shared by both threads: imported once, here, before they could race for them
    import pandas  # noqa: F401
    import sqlalchemy.orm  # noqa: F401  GX's and Dagster steps': raced, a step saw it half-imported (circular import)

    def _import() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001
                pass

    thread = threading.Thread(target=_import, name="warm-imports", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        thread.join()
