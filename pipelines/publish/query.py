"""Guards for what users type and what leaves the warehouse: a read-only query session that cannot write any
file, and CSV cells that a spreadsheet will not run as formulas."""

from __future__ import annotations

import math
import numbers
import re
from contextlib import contextmanager
from pathlib import Path

# A cell a spreadsheet reads as a formula (or as the start of one: tab and carriage return are skipped by some).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@contextmanager
def read_only_session(warehouse: Path):
    """A connection for SQL typed by a user: the warehouse attached read-only as the default catalog, and no file
    anywhere can be read, written or attached (`COPY ... TO`, `ATTACH ... (READ_WRITE)`, `read_csv`, extensions);
    the configuration is then locked so none of this can be switched back. The session is its own in-memory
    DuckDB instance: these settings are per instance, and a plain connect() to a file this process already has
    open would share (and lock down) that file's instance."""
    import duckdb

    from pipelines.base.warehouse import limit_memory

    connection = duckdb.connect(":memory:")
    try:
        limit_memory(connection)
        connection.execute("ATTACH ? AS ai_readiness (READ_ONLY)", [str(warehouse)])
        connection.execute("USE ai_readiness")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        yield connection
    finally:
        connection.close()


def safe_csv_cell(value):
    """OWASP's CSV-injection rule: a text cell starting with = + - @ (or tab / carriage return) gets a leading
    apostrophe, so Excel, LibreOffice and Google Sheets show it as text instead of evaluating it. Numbers, and
    text that is just a number such as "-1.5", are left as they are."""
    if value is None or isinstance(value, (numbers.Number, bool)):
        return value
    if isinstance(value, float) and math.isnan(value):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return value


def safe_csv_frame(frame):
    """A copy of a pandas frame with every text cell (and every column name) passed through safe_csv_cell."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            out[column] = series.map(safe_csv_cell, na_action="ignore").astype(object)
    out.columns = [safe_csv_cell(str(c)) for c in out.columns]
    return out
