"""Write-audit-publish: the atomic release, Parquet exports, the data dictionary, the HTML report, `explain`, and
the read-only query session. Imports every stage below it."""
