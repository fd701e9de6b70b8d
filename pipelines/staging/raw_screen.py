"""Byte-level screening of a raw text file before any parser reads it (binary files such as workbooks are skipped).

A single enormous line (a dump without newlines, a runaway quoted field) would otherwise reach csv with a vague
"field larger than field limit" or eat memory; here it is refused naming file, row and rule.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pipelines.base.errors import ParseError
from pipelines.base.settings import CONFIG_DIR

_CHUNK = 1 << 22
_BINARY_SUFFIXES = (".xls", ".xlsx", ".xlsm", ".zip", ".gz", ".parquet", ".pdf")


@cache
def max_line_bytes() -> int:
    """`raw_files.max_line_bytes` of config/validation.yaml, which keeps this rule beside the other data rules."""
    import yaml

    doc = yaml.safe_load((CONFIG_DIR / "validation.yaml").read_text(encoding="utf-8")) or {}
    return int((doc.get("raw_files") or {}).get("max_line_bytes", 1 << 20))


def screen_raw_file(path: Path, *, source_id: str, file: str) -> None:
    """screen_text_file with the configured limit."""
    screen_text_file(path, max_line_bytes=max_line_bytes(), source_id=source_id, file=file)


def screen_text_file(path: Path, *, max_line_bytes: int, source_id: str | None = None,
                     file: str | None = None) -> None:
    """Raise ParseError(rule="max_line_length") for a line longer than max_line_bytes."""
    path = Path(path)
    if path.suffix.lower() in _BINARY_SUFFIXES:
        return
    lines_before, current = 0, 0  # complete lines already read; bytes of the line being read
    with path.open("rb") as handle:
        first = True
        while chunk := handle.read(_CHUNK):
            if first and b"\x00" in chunk[:4096] and not chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
                return  # binary: not ours to screen
            first = False
            parts = chunk.split(b"\n")
            lengths = [current + len(parts[0]), *map(len, parts[1:])]
            if max(lengths) > max_line_bytes:
                line = lines_before + next(i for i, n in enumerate(lengths) if n > max_line_bytes) + 1
                raise ParseError(f"line {line} is longer than {max_line_bytes} bytes (config/validation.yaml "
                                 "raw_files.max_line_bytes): a runaway quoted field or a file without line breaks?",
                                 source_id=source_id, file=file or str(path), row=line, rule="max_line_length")
            lines_before += len(parts) - 1
            current = lengths[-1]
