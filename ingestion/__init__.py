"""Plain-Python Hub I/O for hubgenome: the local Hub, the synthetic ecosystem, and ingestion.

Nothing in this package imports Dagster or dbt.
"""
