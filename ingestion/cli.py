"""`hubgenome`: one command for every operator job.

Every option shows its default in `--help`. Invalid values are refused before any work.
An expected failure ends in one line on stderr and one of these exit codes (the traceback
only with `--debug`):

| code | meaning |
| --- | --- |
| 0 | done |
| 1 | an unexpected error (a bug: rerun with --debug and report it) |
| 2 | bad arguments: nothing was done |
| 3 | the Hub could not be reached, or the endpoint is not a Hub |
| 4 | the warehouse is locked by another writer (or an open connection) |
| 5 | an input file, or the warehouse, is corrupt or unreadable |
| 6 | nothing was stored: every record was quarantined (see `raw.quarantine`) |
| 7 | a safety guard refused to apply a result (a sweep deleting too many models) |

Jobs that run Dagster or dbt (`demo`, `report`, `dev`, `dbt`) run them as child processes, so
this module stays free of both.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import subprocess
import sys
import zlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import httpx2
from huggingface_hub.errors import HfHubHTTPError

from ingestion.config import DBT_PROJECT_DIR, PROJECT_ROOT, Settings, hf_token, settings
from ingestion.hub_client import (
    HubClient,
    HubUnavailableError,
    RetryPolicy,
    client_from_settings,
)

log = logging.getLogger("hubgenome")

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_HUB, EXIT_LOCKED, EXIT_CORRUPT, EXIT_NOTHING_STORED, EXIT_REFUSED = 3, 4, 5, 6, 7
DEFAULT_LOCK_WAIT_SECONDS = 600.0


class CommandError(Exception):
    """An expected failure: its message is the one line shown, `code` the exit code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


# Argument types: each refuses a bad value with a message argparse prints (exit 2).


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def share(text: str) -> float:
    value = non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1, got {text}")
    return value


def hub_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Hub URL: give the scheme and host, e.g. http://127.0.0.1:8765"
        )
    return text.rstrip("/")


def existing_file(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {path}")
    return path


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown (but not an absent one or a switch's False), descriptions as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


def _parser(**kwargs) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(formatter_class=HelpFormatter, **kwargs)


def _warehouse_options(parser: argparse.ArgumentParser, config: Settings) -> None:
    parser.add_argument(
        "--warehouse",
        type=lambda text: Path(text).expanduser().absolute(),
        default=config.warehouse,
        help="the DuckDB warehouse file (HUBGENOME_WAREHOUSE)",
    )


def _writer_options(parser: argparse.ArgumentParser, config: Settings) -> None:
    _warehouse_options(parser, config)
    parser.add_argument(
        "--create-warehouse",
        action="store_true",
        help="create the warehouse's folder if it does not exist (refused otherwise: a typo "
        "in the path would silently start a fresh full load)",
    )
    parser.add_argument(
        "--lock-wait",
        type=non_negative_float,
        default=DEFAULT_LOCK_WAIT_SECONDS,
        metavar="SECONDS",
        help="how long to wait for another writer to finish",
    )


def _hub_options(parser: argparse.ArgumentParser, config: Settings) -> None:
    parser.add_argument(
        "--endpoint", type=hub_url, default=config.hub_endpoint, help="the Hub (HF_ENDPOINT)"
    )
    parser.add_argument(
        "--max-attempts",
        type=positive_int,
        default=RetryPolicy.max_attempts,
        help="tries per Hub request (5xx, 429, dropped connections) before giving up",
    )


def _page_size_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-size",
        type=positive_int,
        default=None,
        help="models per listing page (default: the Hub's, 1000)",
    )


def build_parser(config: Settings | None = None) -> argparse.ArgumentParser:
    """The `hubgenome` argument parser; defaults come from `config` (the environment)."""
    from ingestion.cards import DEFAULT_CONCURRENCY
    from ingestion.importers import BATCH_SIZE, READERS
    from ingestion.ingest import DEFAULT_OVERLAP
    from ingestion.sweep import MAX_DELETED_SHARE

    config = config or settings()
    parser = _parser(
        prog="hubgenome",
        description="Operate the hubgenome warehouse of the Hugging Face Hub's models.",
        epilog=__doc__.split("\n\n", 1)[1].split("\n\nJobs that run")[0],
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument(
        "--verbose", action="store_true", help="also log every HTTP request (off by default)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, run: Callable, **kwargs) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help_text, description=help_text, formatter_class=HelpFormatter, **kwargs
        )
        sub.set_defaults(run=run)
        return sub

    models = command("models", "List the models changed on the Hub since the watermark.", _models)
    _hub_options(models, config)
    _writer_options(models, config)
    _page_size_option(models)
    models.add_argument(
        "--overlap-hours",
        type=non_negative_float,
        default=DEFAULT_OVERLAP.total_seconds() / 3600,
        help="list this far behind the watermark (late-indexed commits)",
    )

    cards = command("cards", "Fetch the README of every new model version.", _cards)
    _hub_options(cards, config)
    _writer_options(cards, config)
    cards.add_argument(
        "--concurrency", type=positive_int, default=DEFAULT_CONCURRENCY, help="parallel fetches"
    )
    # Accepted and unused: `python -m ingestion.ingest cards --page-size N` ran before.
    cards.add_argument("--page-size", type=positive_int, help=argparse.SUPPRESS)

    popularity = command("popularity", "Record downloads and likes that changed.", _popularity)
    _hub_options(popularity, config)
    _writer_options(popularity, config)
    _page_size_option(popularity)

    sweep = command("sweep", "Mark models deleted or renamed on the Hub.", _sweep)
    _hub_options(sweep, config)
    _writer_options(sweep, config)
    _page_size_option(sweep)
    sweep.add_argument(
        "--max-deleted-share",
        type=share,
        default=MAX_DELETED_SHARE,
        help="refuse a sweep that would delete more than this share of the models",
    )

    importer = command(
        "import",
        "Bootstrap the raw layer from a snapshot file (the paper's CSV, JSONL(.gz) of "
        '{"model", "readme"} records, or a hub-stats models.parquet).',
        _import,
    )
    importer.add_argument("path", type=existing_file, help="the snapshot file to import")
    importer.add_argument(
        "--format", choices=sorted(READERS), default=None, help="default: from the file name"
    )
    importer.add_argument(
        "--batch-size", type=positive_int, default=BATCH_SIZE, help="rows per transaction"
    )
    _writer_options(importer, config)

    status = command(
        "status", "Where the warehouse is, its watermarks, last refreshes, row counts.", _status
    )
    _warehouse_options(status, config)
    status.add_argument("--json", action="store_true", help="one JSON object, for scripts")

    hub = command(
        "hub",
        "The simulated Hub for offline runs: `hub serve ...` or `hub generate ...` "
        "(their own --help lists their options).",
        _hub,
    )
    hub.add_argument("action", choices=("serve", "generate"), help="serve or generate")

    command(
        "demo",
        "The end-to-end demo behind `make run`: a synthetic Hub on loopback, the Dagster "
        "daemon's sensors and automation building every asset, then one Hub change.",
        _child("orchestration.demo"),
    )

    command(
        "report",
        "Build the reproduction report (and the analytics it reads) from the warehouse.",
        _child("orchestration.report_job"),
    )

    command(
        "reproduce-paper",
        "From the paper's released CSV to its report, in one command: check the file, import "
        "it, build, analyse, report (`reproduce-paper --help`).",
        _child("orchestration.reproduce_paper"),
    )
    command(
        "paper-csv",
        "Write a snapshot in the paper's CSV format, or check that a file has it.",
        _paper_csv,
    )

    command("dev", "The Dagster UI on http://127.0.0.1:3000.", _dev)

    command(
        "dbt", "Run dbt on this project against the warehouse: `hubgenome dbt build ...`.", _dbt
    )
    return parser


# Jobs.


def _checked_warehouse(args: argparse.Namespace) -> Path:
    """The warehouse to write, refused when its folder is missing (unless asked to create it)."""
    path: Path = args.warehouse
    default = path == Settings.from_env({}).warehouse
    if not path.parent.is_dir() and not (args.create_warehouse or default):
        raise CommandError(
            f"the warehouse folder {path.parent} does not exist; check the path or pass "
            "--create-warehouse",
            EXIT_USAGE,
        )
    if not path.exists():
        log.info(f"creating a new warehouse at {path}")
    return path


def _writer(args: argparse.Namespace):
    from ingestion.warehouse import connect_writer

    def waiting(lock_path: Path) -> None:
        log.info(f"waiting for the warehouse writer lock {lock_path} (up to {args.lock_wait:.0f}s)")

    return connect_writer(_checked_warehouse(args), on_wait=waiting, lock_timeout=args.lock_wait)


def _client(args: argparse.Namespace, config: Settings) -> HubClient:
    return client_from_settings(
        config, hf_token(), endpoint=args.endpoint, max_attempts=args.max_attempts
    )


def _models(args: argparse.Namespace, config: Settings) -> int:
    from ingestion.ingest import ingest_models

    with _writer(args) as con:
        result = ingest_models(
            con,
            _client(args, config),
            overlap=timedelta(hours=args.overlap_hours),
            page_size=args.page_size,
        )
    print(
        f"models: {result.listed:,} listed in {result.pages} pages, {result.added:,} added, "
        f"{result.changed:,} changed, {result.quarantined:,} quarantined; "
        f"watermark {result.watermark}"
    )
    return EXIT_OK


def _cards(args: argparse.Namespace, config: Settings) -> int:
    from ingestion.cards import fetch_cards

    with _writer(args) as con:
        result = fetch_cards(con, _client(args, config), concurrency=args.concurrency)
    statuses = ", ".join(
        f"{count:,} {status}" for status, count in sorted(result.by_status.items())
    )
    print(f"cards: {result.fetched:,} fetched ({statuses or 'none pending'})")
    return EXIT_OK


def _popularity(args: argparse.Namespace, config: Settings) -> int:
    from ingestion.popularity import refresh_popularity

    with _writer(args) as con:
        result = refresh_popularity(con, _client(args, config), page_size=args.page_size)
    print(f"popularity: {result.listed:,} listed, {result.recorded:,} changes recorded")
    return EXIT_OK


def _sweep(args: argparse.Namespace, config: Settings) -> int:
    from ingestion.sweep import sweep_deletions

    with _writer(args) as con:
        result = sweep_deletions(
            con,
            _client(args, config),
            page_size=args.page_size,
            max_deleted_share=args.max_deleted_share,
        )
    print(
        f"sweep: {result.seen:,} seen, {result.deleted:,} deleted, {result.renamed:,} renamed, "
        f"{result.restored:,} restored"
    )
    return EXIT_OK


def _import(args: argparse.Namespace, config: Settings) -> int:
    from ingestion.importers import detect_format, import_snapshot

    try:
        file_format = args.format or detect_format(args.path)
    except ValueError as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    with _writer(args) as con:
        result = import_snapshot(con, args.path, file_format, batch_size=args.batch_size)
    stored = result.added + result.changed
    print(
        f"import {args.path}: {result.rows:,} rows, {result.added:,} added, "
        f"{result.changed:,} changed, {result.quarantined:,} quarantined, "
        f"{result.cards:,} cards ({result.rows_per_second:,.0f} rows/s)"
    )
    if stored == 0 and result.quarantined > 0:
        raise CommandError(
            f"nothing was stored: all {result.quarantined:,} records of {args.path} were "
            "quarantined (see raw.quarantine for the reasons)",
            EXIT_NOTHING_STORED,
        )
    return EXIT_OK


def _status(args: argparse.Namespace, config: Settings) -> int:
    from ingestion.status import describe, render

    report = describe(args.warehouse)
    print(json.dumps(report, indent=2, default=str) if args.json else render(report))
    return EXIT_OK


def _hub(args: argparse.Namespace, config: Settings) -> int:
    if args.action == "serve":
        from ingestion.localhub.server import main as serve_main

        serve_main(args.options)
    else:
        from ingestion.localhub.synthetic import main as generate_main

        generate_main(args.options)
    return EXIT_OK


def _paper_csv(args: argparse.Namespace, config: Settings) -> int:
    from ingestion.paper_csv import main as paper_csv_main

    return paper_csv_main(args.options)


def _run_child(argv: Sequence[str]) -> int:
    """Run a child process in the project folder; its exit code is ours."""
    try:
        return subprocess.run(list(argv), cwd=PROJECT_ROOT).returncode
    except KeyboardInterrupt:
        return 130


def _child(module: str) -> Callable[[argparse.Namespace, Settings], int]:
    def run(args: argparse.Namespace, config: Settings) -> int:
        return _run_child([sys.executable, "-m", module, *args.options])

    return run


def _dev(args: argparse.Namespace, config: Settings) -> int:
    dagster = str(Path(sys.executable).parent / "dagster")
    return _run_child([dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", "3000"])


def _dbt(args: argparse.Namespace, config: Settings) -> int:
    dbt = str(Path(sys.executable).parent / "dbt")
    options = args.options or ["--help"]
    command = [dbt, *options, "--project-dir", str(DBT_PROJECT_DIR)]
    command += ["--profiles-dir", str(DBT_PROJECT_DIR), "--vars", config.dbt_vars()]
    return _run_child(command)


# Running.


def _quiet_http_logs(verbose: bool) -> None:
    """One log line per HTTP request buries the progress lines: shown only with --verbose."""
    for name in ("httpx", "httpx2", "httpcore", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


def expected_failure(error: BaseException) -> CommandError | None:
    """The one-line message and exit code of an expected failure; None for a bug."""
    if isinstance(error, CommandError):
        return error
    if isinstance(error, HubUnavailableError | HfHubHTTPError | httpx2.TransportError):
        return CommandError(f"the Hub could not be listed: {error}", EXIT_HUB)
    if isinstance(error, TimeoutError) and "locked" in str(error):
        return CommandError(f"the warehouse is locked by another writer: {error}", EXIT_LOCKED)
    if isinstance(error, duckdb.IOException) and "lock" in str(error).lower():
        return CommandError(
            f"the warehouse is open in another process: {str(error).splitlines()[0]}",
            EXIT_LOCKED,
        )
    from ingestion.importers import CorruptInputError
    from ingestion.sweep import SuspiciousSweepError

    if isinstance(error, SuspiciousSweepError):
        return CommandError(f"refused: {error}", EXIT_REFUSED)
    if isinstance(error, CorruptInputError):
        return CommandError(f"a corrupt or truncated input file: {error}", EXIT_CORRUPT)
    if isinstance(error, EOFError | gzip.BadGzipFile | zlib.error | UnicodeDecodeError):
        return CommandError(f"a corrupt or truncated input file: {error}", EXIT_CORRUPT)
    if isinstance(error, duckdb.SerializationException | duckdb.IOException):
        return CommandError(f"the warehouse could not be read: {error}", EXIT_CORRUPT)
    return None


# Commands whose options belong to another program: everything after the command is theirs.
PASSTHROUGH = ("hub", "demo", "report", "reproduce-paper", "paper-csv", "dbt")


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    first = next((index for index, arg in enumerate(argv) if not arg.startswith("-")), None)
    if first is None or argv[first] not in PASSTHROUGH:
        return parser.parse_args(argv)
    args = parser.parse_args([*argv[: first + 1], *(["serve"] if argv[first] == "hub" else [])])
    rest = argv[first + 1 :]
    if argv[first] == "hub":
        if not rest or rest[0] not in ("serve", "generate"):
            parser.error("hub needs an action: hub serve ... or hub generate ...")
        args.action, rest = rest[0], rest[1:]
    args.options = rest
    return args


def main(argv: Sequence[str] | None = None) -> int:
    config = settings()
    args = _parse(build_parser(config), list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    _quiet_http_logs(args.verbose)
    try:
        return args.run(args, config)
    except KeyboardInterrupt:
        print("hubgenome: interrupted; committed work is kept and a rerun resumes", file=sys.stderr)
        return 130
    except Exception as error:
        failure = expected_failure(error)
        if args.debug or failure is None:
            log.exception("hubgenome %s failed", args.command)
            return failure.code if failure else EXIT_ERROR
        print(f"hubgenome {args.command}: {failure}", file=sys.stderr)
        return failure.code


def run() -> None:
    """The `hubgenome` console script."""
    sys.exit(main())
