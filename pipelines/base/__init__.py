"""What every stage may use and that imports no stage: settings and paths, errors, fault points, the build lock,
DuckDB connections to the warehouse, the audit of check outcomes, background imports."""
