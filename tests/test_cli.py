"""`hubgenome` as an operator meets it: help, refusals before any work, one-line failures with
documented exit codes, progress instead of per-request HTTP lines."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingestion.cli import (
    EXIT_CORRUPT,
    EXIT_HUB,
    EXIT_LOCKED,
    EXIT_NOTHING_STORED,
    EXIT_USAGE,
)
from ingestion.config import PROJECT_ROOT
from ingestion.warehouse import acquire_writer_lock

JOBS = (
    "models", "cards", "popularity", "sweep", "import", "status", "hub", "demo", "report",
    "reproduce-paper", "paper-csv", "dev", "dbt",
)  # fmt: skip


def hubgenome(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ingestion", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def refused(done: subprocess.CompletedProcess, code: int, message: str) -> None:
    assert done.returncode == code, done.stderr
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_help_lists_every_job_and_shows_defaults():
    done = hubgenome("--help")
    assert done.returncode == 0
    for job in JOBS:
        assert f"    {job}" in done.stdout, job
    assert "| 4 | the warehouse is locked" in done.stdout  # the exit codes are documented
    models = hubgenome("models", "--help").stdout
    assert "(default: 6.0)" in models and "--page-size" in models
    assert "Serve a Hub snapshot" in hubgenome("hub", "serve", "--help").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "--page-size", "0"], "must be at least 1, got 0"),
        (["sweep", "--max-deleted-share", "2"], "must be a share between 0 and 1"),
        (["cards", "--concurrency", "-3"], "must be at least 1, got -3"),
        (["models", "--overlap-hours", "inf"], "must be a finite number >= 0"),
        (["models", "--endpoint", "127.0.0.1:8765"], "is not a Hub URL"),
        (["import", "no/such/file.jsonl"], "no such file: no/such/file.jsonl"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(tmp_path, args, message):
    warehouse = tmp_path / "warehouse.duckdb"
    refused(hubgenome(*args, "--warehouse", str(warehouse)), EXIT_USAGE, message)
    assert list(tmp_path.iterdir()) == []  # no warehouse, no lock file


def test_import_batch_size_and_demo_size_are_checked(tmp_path, synthetic_snapshot):
    refused(
        hubgenome("import", str(synthetic_snapshot), "--batch-size", "0"),
        EXIT_USAGE,
        "must be at least 1, got 0",
    )
    refused(hubgenome("demo", "--models", "-1"), EXIT_USAGE, "must be at least 1, got -1")


def test_a_warehouse_folder_that_does_not_exist_is_refused_unless_asked(tmp_path, local_hub):
    typo = tmp_path / "wherehouse" / "warehouse.duckdb"
    args = ["models", "--endpoint", local_hub.base_url, "--warehouse", str(typo)]
    refused(hubgenome(*args), EXIT_USAGE, "does not exist; check the path or pass")
    assert not typo.parent.exists()
    created = hubgenome(*args, "--create-warehouse", "--page-size", "500")
    assert created.returncode == 0, created.stderr
    assert typo.exists()


def test_progress_not_http_lines_unless_verbose(tmp_path, local_hub):
    args = ["models", "--endpoint", local_hub.base_url, "--warehouse", str(tmp_path / "w.duckdb")]
    quiet = hubgenome(*args, "--page-size", "200")
    assert quiet.returncode == 0, quiet.stderr
    assert "HTTP Request:" not in quiet.stderr
    assert "models delta:" in quiet.stderr and "models/s" in quiet.stderr
    assert "added" in quiet.stdout and "watermark" in quiet.stdout
    verbose = hubgenome("--verbose", *args)
    assert "HTTP Request:" in verbose.stderr


def test_an_unreachable_hub_is_one_line_and_exit_3(tmp_path):
    args = ["models", "--endpoint", "http://127.0.0.1:9", "--max-attempts", "1"]
    done = hubgenome(*args, "--warehouse", str(tmp_path / "w.duckdb"))
    refused(done, EXIT_HUB, "the Hub could not be listed")
    assert len(done.stderr.strip().splitlines()) <= 2  # the one line (and the creation notice)
    debug = hubgenome("--debug", *args, "--warehouse", str(tmp_path / "w.duckdb"))
    assert debug.returncode == EXIT_HUB and "Traceback" in debug.stderr


class NotAHub(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        body = b"<html><body>a blog, not a Hub</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_an_endpoint_that_is_not_a_hub_is_exit_3(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotAHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}"
        done = hubgenome(
            "sweep", "--endpoint", endpoint, "--max-attempts", "1",
            "--warehouse", str(tmp_path / "w.duckdb"),
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    refused(done, EXIT_HUB, "the Hub could not be listed")


def test_a_held_writer_lock_is_exit_4(tmp_path, local_hub):
    warehouse = tmp_path / "w.duckdb"
    held = acquire_writer_lock(warehouse)
    try:
        done = hubgenome(
            "models", "--endpoint", local_hub.base_url, "--warehouse", str(warehouse),
            "--lock-wait", "0.5",
        )  # fmt: skip
    finally:
        held.close()
    refused(done, EXIT_LOCKED, "the warehouse is locked by another writer")


def test_an_import_whose_every_row_was_quarantined_exits_6(tmp_path):
    snapshot = tmp_path / "bad.jsonl"
    lines = [{"model": {"id": 42, "sha": "x"}, "readme": None}] * 3
    snapshot.write_text("".join(json.dumps(line) + "\n" for line in lines))
    done = hubgenome("import", str(snapshot), "--warehouse", str(tmp_path / "w.duckdb"))
    refused(done, EXIT_NOTHING_STORED, "nothing was stored")


def test_a_corrupt_compressed_file_is_exit_5(tmp_path, synthetic_snapshot):
    truncated = tmp_path / "cut.jsonl.gz"
    data = synthetic_snapshot.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    done = hubgenome("import", str(truncated), "--warehouse", str(tmp_path / "w.duckdb"))
    refused(done, EXIT_CORRUPT, "corrupt or truncated")


def test_status_names_the_warehouse_and_its_watermark(tmp_path, local_hub):
    warehouse = tmp_path / "w.duckdb"
    missing = json.loads(hubgenome("status", "--json", "--warehouse", str(warehouse)).stdout)
    assert missing == {
        "warehouse": str(warehouse),
        "exists": False,
        "writer_pid": None,
        "published": str(tmp_path / "w.published.duckdb"),
        "published_build": None,
    }
    loaded = hubgenome("models", "--endpoint", local_hub.base_url, "--warehouse", str(warehouse))
    assert loaded.returncode == 0, loaded.stderr
    report = json.loads(hubgenome("status", "--json", "--warehouse", str(warehouse)).stdout)
    (stream,) = report["streams"]
    assert stream["stream"] == "models" and stream["watermark"] and not stream["in_progress"]
    assert report["raw"]["models_active"] > 0 and report["writer_pid"] is None
    text = hubgenome("status", "--warehouse", str(warehouse)).stdout
    assert f"warehouse: {warehouse}" in text and "stream models: watermark" in text


def test_the_old_module_entry_points_still_work(tmp_path, local_hub, synthetic_snapshot):
    warehouse = tmp_path / "w.duckdb"
    listed = subprocess.run(
        [sys.executable, "-m", "ingestion.ingest", "models", "--endpoint", local_hub.base_url,
         "--warehouse", str(warehouse), "--page-size", "500"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    plain = tmp_path / "plain.jsonl"
    with gzip.open(synthetic_snapshot, "rb") as source:
        plain.write_bytes(source.read())
    imported = subprocess.run(
        [sys.executable, "-m", "ingestion.importers", str(plain), "--warehouse",
         str(tmp_path / "other.duckdb")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "rows" in imported.stdout


def test_hub_generate_writes_a_snapshot(tmp_path):
    out = tmp_path / "hub.jsonl.gz"
    done = hubgenome("hub", "generate", "--models", "50", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with gzip.open(out, "rt") as lines:
        assert [json.loads(line)["model"]["id"] for line in lines][:1] != []
    with gzip.open(out, "rt") as lines:
        assert sum(1 for _ in lines) == 50
