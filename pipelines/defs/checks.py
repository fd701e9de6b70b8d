"""Asset checks. Blocking checks stop publish_marts; the rules themselves live in sql/checks/ and pipelines.lib."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.resources import ProjectPaths


def _violations_check(asset: str, rule: str, description: str) -> dg.AssetChecksDefinition:
    """A blocking check that passes when sql/checks/<asset>__<rule>.sql returns no rows."""

    @dg.asset_check(asset=asset, name=rule, blocking=True, description=description)
    def _check(project: ProjectPaths) -> dg.AssetCheckResult:
        from pipelines.lib.warehouse import sql_text

        with project.build_warehouse(read_only=True) as connection:
            violations = connection.execute(sql_text("checks", f"{asset}__{rule}")).df()
        return dg.AssetCheckResult(
            passed=violations.empty,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "rule": rule,
                "violations_shown": len(violations),
                "violations": dg.MetadataValue.md(violations.to_markdown(index=False) if len(violations) else "none"),
            },
        )

    return _check


fct_keys_unique = _violations_check(
    "fct_indicator_values", "duplicate_keys", "(source_id, indicator_id, iso3, period) is unique."
)
fct_iso3_known = _violations_check(
    "fct_indicator_values", "unknown_iso3", "Every iso3 is in the country dimension."
)
