"""`python -m ingestion ...` is `hubgenome ...`."""

from ingestion.cli import run

run()
