"""What every reliability scenario shares: the Hub's ground truth, the ingestion pipeline,
the exact comparison of the warehouse with the source, and killable ingestion processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingestion.cards import fetch_cards
from ingestion.config import DEFAULT_MAX_CARD_BYTES, PROJECT_ROOT
from ingestion.hub_client import EXPAND_FIELDS, HubClient
from ingestion.ingest import ingest_models
from ingestion.localhub.faults import FaultPlan
from ingestion.records import model_oid
from ingestion.sweep import sweep_deletions
from tests.ingestion.ingestion_helpers import listed_fields

# Fields a listing cannot refresh without a new commit: popularity (its own stream,
# `raw.hub_model_popularity`). Renames are no exception: the sweep moves the payload's names.
MOVES_WITHOUT_COMMIT = ("downloads", "likes", "trendingScore")


def set_faults(server, specs: list[str], seed: int = 0) -> None:
    """Replace the local Hub's faults for the requests that follow."""
    server.faults = FaultPlan.from_texts(specs, seed)


def hub_truth(server) -> dict[str, dict]:
    """oid -> {"model", "readme"} for every public model the local Hub serves right now."""
    return {
        model_oid(record["model"]): record
        for record in server.store.current_records()
        if not record["model"].get("private")
    }


def run_pipeline(con: duckdb.DuckDBPyConnection, client: HubClient, page_size: int) -> None:
    """One ingestion cycle in process: the models delta, the deletion sweep, the cards."""
    ingest_models(con, client, page_size=page_size)
    sweep_deletions(con, client, page_size=page_size)
    fetch_cards(con, client, concurrency=4)


@dataclass
class Comparison:
    """How much of the warehouse was checked against the source."""

    models: int = 0
    cards: int = 0
    deleted: int = 0
    popularity: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.models + self.cards + self.deleted + self.popularity


def compare_with_hub(
    con: duckdb.DuckDBPyConnection,
    truth: dict[str, dict],
    *,
    exact_payloads: bool = True,
    popularity: bool = False,
) -> Comparison:
    """Compare `raw` with the Hub's truth: ids, shas, payloads, cards, deletions.

    With `exact_payloads` the stored payload must equal the listed item field for field;
    otherwise fields that change without a commit (`MOVES_WITHOUT_COMMIT`) are left out.
    """
    result = Comparison()
    rows = con.execute(
        """
        select m.model_oid, m.model_id, m.sha, m.payload, m.deleted_at is not null,
               f.status, c.card_text
        from raw.hub_models as m
        left join raw.hub_card_fetches as f
          on f.model_oid = m.model_oid and f.version_key = m.version_key
        left join raw.hub_model_cards as c on c.content_hash = f.content_hash
        """
    ).fetchall()
    stored = {row[0]: row[1:] for row in rows}
    problems = result.problems
    for oid in sorted(set(truth) - set(stored)):
        problems.append(f"missing from the warehouse: {oid} {truth[oid]['model']['id']!r}")
    for oid, (model_id, sha, payload, deleted, status, card) in stored.items():
        record = truth.get(oid)
        if record is None:
            result.deleted += 1
            if not deleted:
                problems.append(f"gone from the Hub but not marked deleted: {oid} {model_id!r}")
            continue
        model = record["model"]
        if deleted:
            problems.append(f"marked deleted but on the Hub: {oid}")
        if (model_id, sha) != (model["id"], model.get("sha")):
            problems.append(f"{oid}: stored {(model_id, sha)} != Hub {(model['id'], model['sha'])}")
        expected = listed_fields(model, EXPAND_FIELDS)
        got = json.loads(payload)
        if not exact_payloads:
            expected = _without(expected, MOVES_WITHOUT_COMMIT)
            got = _without(got, MOVES_WITHOUT_COMMIT)
        if got != expected:
            problems.append(f"{oid}: payload differs: {_first_difference(got, expected)}")
        result.models += 1
        readme = record["readme"]
        if status == "too_large" and len((readme or "").encode()) > DEFAULT_MAX_CARD_BYTES:
            pass  # over the size cap: the outcome says so, no text is stored
        elif status not in ("ok", "missing") or (card if status == "ok" else None) != readme:
            problems.append(f"{oid}: card {status} {str(card)[:40]!r} != Hub {str(readme)[:40]!r}")
        result.cards += 1
    if popularity:
        latest = dict(
            (oid, (downloads, likes))
            for oid, downloads, likes in con.execute(
                """
                select model_oid, arg_max(downloads, observed_at), arg_max(likes, observed_at)
                from raw.hub_model_popularity group by 1
                """
            ).fetchall()
        )
        for oid, record in truth.items():
            model = record["model"]
            if latest.get(oid) != (model.get("downloads"), model.get("likes")):
                problems.append(f"{oid}: popularity {latest.get(oid)} is stale")
            result.popularity += 1
    return result


def assert_matches_hub(con, truth, **options) -> Comparison:
    """`compare_with_hub`, failing with the first few differences."""
    result = compare_with_hub(con, truth, **options)
    assert not result.problems, f"{len(result.problems)} differences, e.g.:\n" + "\n".join(
        result.problems[:10]
    )
    assert result.models == len(truth)
    return result


def _without(payload: dict, fields) -> dict:
    return {key: value for key, value in payload.items() if key not in fields}


def _first_difference(got: dict, expected: dict) -> str:
    for key in sorted(set(got) | set(expected)):
        if got.get(key) != expected.get(key):
            return f"{key}: {str(got.get(key))[:60]} != {str(expected.get(key))[:60]}"
    return "?"


# -- ingestion as separate processes, the way a scheduler runs it ------------------------------


def chain_command(endpoint: str, warehouse: Path, page_size: int) -> list[str]:
    """The ingestion CLI's stages in one process (`tests/reliability/ingest_chain.py`)."""
    module = "tests.reliability.ingest_chain"
    return [sys.executable, "-m", module, endpoint, str(warehouse), str(page_size)]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: this one, the venv on PATH, plus `extra`."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def start(command: list[str], env: dict[str, str] | None = None, **options) -> subprocess.Popen:
    """Start a child in its own process group (so a kill reaches all of it)."""
    options = {"cwd": PROJECT_ROOT, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **options}
    return subprocess.Popen(
        command, env=env or child_env(), text=True, start_new_session=True, **options
    )


def finish(process: subprocess.Popen, what: str = "ingestion") -> str:
    """Wait for a child; fail with its stderr when it failed; returns all it printed."""
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"{what} failed:\n{err[-3000:]}"
    return out + err


def kill_hard(process: subprocess.Popen) -> None:
    """`kill -9` the child's whole process group and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def requests_served(server) -> int:
    with server.stats.lock:
        return sum(server.stats.requests.values())


def wait_for_first_request(server, process: subprocess.Popen, before: int) -> float:
    """Block until the child has sent the Hub its first request; returns the seconds waited."""
    began = time.monotonic()
    while requests_served(server) == before and process.poll() is None:
        time.sleep(0.005)
    return time.monotonic() - began
