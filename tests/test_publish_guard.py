"""A failing build exits non-zero, names the file and rule, and leaves the published outputs byte-identical."""

import hashlib
import shutil

from tests.conftest import run_build

ONLY_WDI = {"AI_READINESS_SOURCES": "worldbank_wdi"}


def _snapshot(marts_dir):
    return {
        str(p.relative_to(marts_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in [marts_dir / "ai_readiness.duckdb", *sorted((marts_dir / "parquet").glob("*.parquet"))]
    }


def test_corrupted_mirror_fails_loudly_and_keeps_last_good_outputs(tmp_path, mirror_dir):
    mirror = tmp_path / "mirror"
    shutil.copytree(mirror_dir / "worldbank_wdi", mirror / "worldbank_wdi")
    data_dir = tmp_path / "data"
    first = run_build(data_dir, mirror, env_extra=ONLY_WDI)
    assert first.returncode == 0, first.stderr[-3000:]
    before = _snapshot(data_dir / "marts")

    corrupted = mirror / "worldbank_wdi" / "raw" / "datahub_world-development-indicators" / "sp.pop.totl" / "data.csv"
    corrupted.write_bytes(corrupted.read_bytes().replace(b"Japan,JPN,2020,", b"Japan,JPN,2020,9"))
    second = run_build(data_dir, mirror, env_extra=ONLY_WDI)

    assert second.returncode != 0
    assert "sp.pop.totl/data.csv" in second.stderr and "sha256" in second.stderr
    assert _snapshot(data_dir / "marts") == before
