"""Sources: one raw asset per registered source (files fetched from the publisher or the mirror, sha256-verified)."""

from __future__ import annotations

import dagster as dg

from pipelines.base.faults import crash_point
from pipelines.defs.resources import ProjectPaths
from pipelines.sources.registry import Source, load_registry


def raw_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{source.source_id}",
        group_name="ingest",
        kinds={"file"},
        description=f"{source.publisher}: {source.dataset}. Raw files copied or downloaded into data/raw/"
        f"{source.source_id}/ and verified against their registered sha256.",
        metadata={"source_id": source.source_id, "licence": source.licence, "vintage": source.vintage},
    )
    def _raw(project: ProjectPaths) -> dg.MaterializeResult:
        from pipelines.sources.fetch import fetch_source

        fetched = fetch_source(source, project.paths().raw_dir, project.mirror_dir())
        crash_point("ingest:raw_fetched")
        return dg.MaterializeResult(
            metadata={
                "files": len(fetched),
                "bytes": sum(f.bytes for f in fetched),
                "origin": "mirror" if project.mirror_dir() else "live",
            },
            data_version=dg.DataVersion(_combined_sha(f.sha256 for f in fetched)),
        )

    return _raw


def _combined_sha(shas) -> str:
    import hashlib

    return hashlib.sha256("".join(sorted(shas)).encode()).hexdigest()[:16]


_sources = load_registry().values()
raw_assets = [raw_asset(s) for s in _sources]
