"""Plain Python helpers: no Dagster objects here, so each piece is testable on its own."""
