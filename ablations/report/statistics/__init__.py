"""Statistics of the report: pure functions of arrays, tested against known answers."""
