"""`python -m tests.reliability.ingest_chain ENDPOINT WAREHOUSE PAGE_SIZE`: the ingestion CLI's
stages (models delta, deletion sweep, cards) one after the other in one process, as a
scheduler would run them, without paying the interpreter's start-up three times."""

import sys

from ingestion.ingest import main

STAGES = ("models", "sweep", "cards")

if __name__ == "__main__":
    endpoint, warehouse, page_size = sys.argv[1:4]
    for stage in STAGES:
        main([stage, "--endpoint", endpoint, "--warehouse", warehouse, "--page-size", page_size])
