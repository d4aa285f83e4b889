"""`python -m tests.reliability.ingest_chain ENDPOINT WAREHOUSE PAGE_SIZE`: the operator
command's stages (models delta, deletion sweep, cards) one after the other in one process, as
a scheduler would run them, without paying the interpreter's start-up three times."""

import sys

from ingestion.cli import main

STAGES = ("models", "sweep", "cards")

if __name__ == "__main__":
    endpoint, warehouse, page_size = sys.argv[1:4]
    for stage in STAGES:
        options = ["--endpoint", endpoint, "--warehouse", warehouse]
        if stage != "cards":
            options += ["--page-size", page_size]
        code = main([stage, *options, "--create-warehouse"])
        if code:
            sys.exit(code)
