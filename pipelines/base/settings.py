"""Where things live, from the environment (never hard-coded absolute paths)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "config"
SQL_DIR = PROJECT_ROOT / "sql"

MIRROR_ENV = "AI_READINESS_MIRROR"
DATA_DIR_ENV = "AI_READINESS_DATA_DIR"


@dataclass(frozen=True)
class Paths:
    """The folders one run reads and writes; tests point them at a temp dir."""

    data_dir: Path

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def marts_dir(self) -> Path:
        return self.data_dir / "marts"

    @property
    def build_dir(self) -> Path:
        """Write-audit-publish: everything is built here first, published only after the checks pass."""
        return self.marts_dir / ".build"

    @property
    def build_warehouse(self) -> Path:
        return self.build_dir / "ai_readiness.duckdb"

    @property
    def published_warehouse(self) -> Path:
        return self.marts_dir / "ai_readiness.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.marts_dir / "parquet"

    @property
    def parquet_by_source_dir(self) -> Path:
        return self.marts_dir / "parquet_by_source"


def current_paths() -> Paths:
    return Paths(Path(os.environ.get(DATA_DIR_ENV, PROJECT_ROOT / "data")).resolve())


def mirror_dir() -> Path | None:
    """The offline mirror (laid out like ../shared/data: <source_id>/raw/...), or None to download live."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return Path(value).resolve() if value else None
