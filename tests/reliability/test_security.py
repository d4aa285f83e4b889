"""Security: the Hub token never lands anywhere, servers stay on loopback, Hub strings never
become SQL text."""

from __future__ import annotations

import ast
import copy
import logging
import re
import secrets
import socket
import time
from pathlib import Path

import dagster as dg
import duckdb
import psutil
import pytest

from ingestion.config import PROJECT_ROOT
from ingestion.hub_client import HubClient
from ingestion.localhub.server import Access, serve, serve_store
from ingestion.localhub.store import HubStore
from ingestion.localhub.synthetic import generate
from orchestration.defs.ingestion.assets import hub_delta
from orchestration.defs.resources import HubResource, WarehouseResource
from tests.ingestion.ingestion_helpers import open_warehouse

from .conftest import current_scale
from .support import (
    assert_matches_hub,
    chain_command,
    child_env,
    finish,
    hub_truth,
    kill_hard,
    run_pipeline,
    start,
)

HOSTILE = "'); drop table raw.hub_models; --"
HOSTILE_TOO = '"; drop schema raw cascade; select $now, ?; --'


# -- the token ----------------------------------------------------------------------------


def places_holding(secret: str, folders: list[Path], texts: dict[str, str]) -> list[str]:
    """Every file under `folders` whose bytes contain `secret`, every DuckDB table holding it
    in any column, and every named text containing it."""
    found = [name for name, text in texts.items() if secret in text]
    needle = secret.encode()
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and needle in path.read_bytes():
                found.append(str(path))
            if path.suffix == ".duckdb":
                found += [f"{path}:{table}" for table in duckdb_tables_holding(path, secret)]
    return found


def duckdb_tables_holding(path: Path, secret: str) -> list[str]:
    """DuckDB compresses strings on disk, so the file's bytes are not enough: ask every table."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database()"
        ).fetchall()
        return [
            f"{schema}.{table}"
            for schema, table in tables
            if con.execute(
                f'select count(*) from "{schema}"."{table}" as t '
                "where contains(cast(t as varchar), $secret)",
                {"secret": secret},
            ).fetchone()[0]
        ]


def test_the_search_finds_a_planted_token(tmp_path):
    """The search below must be able to fail: it finds a token wherever one is planted."""
    token = f"hf_planted{secrets.token_hex(8)}"
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema raw")
        con.execute("create table raw.t (payload json)")
        con.execute("insert into raw.t values ($p)", {"p": f'{{"header": "{token}"}}'})
        con.execute("insert into raw.t select '{}' from range(100000)")
    (tmp_path / "compute.log").write_text(f"Authorization: Bearer {token}\n")
    found = places_holding(token, [tmp_path], {"stderr": f"... {token} ..."})
    assert "stderr" in found and str(tmp_path / "compute.log") in found
    assert f"{tmp_path / 'w.duckdb'}:raw.t" in found


def test_the_token_is_used_but_never_logged_or_stored(tmp_path, monkeypatch, record):
    token = f"hf_reliabilityCanary{secrets.token_hex(12)}"
    records = list(generate(60, seed=21))
    secret_model = copy.deepcopy(records[0])
    secret_model["model"].update(_id="private0000000000000001", id="corp/private-model")
    secret_model["model"]["private"] = True
    records.append(secret_model)
    server = serve_store(HubStore(records), access=Access(full_access=frozenset({token})))
    monkeypatch.setenv("HF_TOKEN", token)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    logs = logging.getLogger()
    captured = _Capture()
    logs.addHandler(captured)
    logs_level = logs.level
    logs.setLevel(logging.DEBUG)
    try:
        cli_warehouse = tmp_path / "cli" / "warehouse.duckdb"
        process = start(
            chain_command(server.base_url, cli_warehouse, 20), env=child_env(HF_TOKEN=token)
        )
        cli_log = finish(process)
        dagster_warehouse = tmp_path / "dagster" / "warehouse.duckdb"
        with dg.DagsterInstance.local_temp(tempdir=str(dagster_home)) as instance:
            result = dg.materialize(
                [hub_delta],
                resources={
                    "hub": HubResource(endpoint=server.base_url),
                    "warehouse": WarehouseResource(path=str(dagster_warehouse)),
                },
                instance=instance,
            )
            assert result.success
            events = "\n".join(str(entry) for entry in instance.all_logs(result.run_id)) + str(
                instance.get_run_by_id(result.run_id)
            )
    finally:
        logs.removeHandler(captured)
        logs.setLevel(logs_level)
        server.shutdown()
        server.server_close()

    # The token was sent: the private model is only visible with it.
    for warehouse in (cli_warehouse, dagster_warehouse):
        with open_warehouse(warehouse) as con:
            ids = {m for (m,) in con.execute("select model_id from raw.hub_models").fetchall()}
        assert "corp/private-model" in ids
    found = places_holding(
        token,
        [tmp_path],
        {"ingestion process output": cli_log, "python logs": captured.text(), "events": events},
    )
    assert found == []
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any("compute_logs" in str(path) or "storage" in str(path) for path in files)
    record(
        "HF_TOKEN canary",
        files_searched=len(files),
        dagster_files=sorted(
            {
                str(p.relative_to(dagster_home)).split("/")[0]
                for p in files
                if dagster_home in p.parents
            }
        ),
        event_log_chars=len(events),
        leaks=0,
    )


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, entry: logging.LogRecord) -> None:
        self.lines.append(self.format(entry))

    def text(self) -> str:
        return "\n".join(self.lines)


# -- loopback -----------------------------------------------------------------------------


def listening_addresses(process: psutil.Process) -> set[str]:
    addresses = set()
    for member in [process, *process.children(recursive=True)]:
        try:
            connections = member.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        addresses |= {c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN}
    return addresses


def is_loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1"


def test_the_local_hub_listens_on_loopback_only(tmp_path):
    server = serve(_small_snapshot(tmp_path))
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ValueError, match="loopback"):
        serve(_small_snapshot(tmp_path), host="0.0.0.0")

    port_file = tmp_path / "port"
    command = ["python", "-m", "ingestion.localhub.server", "--synthetic", "30", "--port", "0"]
    process = start([*command, "--port-file", str(port_file)])
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        addresses = listening_addresses(psutil.Process(process.pid))
    finally:
        kill_hard(process)
    assert addresses and all(is_loopback(a) for a in addresses), addresses


def _small_snapshot(tmp_path: Path) -> Path:
    from ingestion.localhub.synthetic import write_jsonl

    path = tmp_path / "small.jsonl"
    if not path.exists():
        write_jsonl(generate(20, seed=2), path)
    return path


def dev_command() -> list[str]:
    """The `make dev` recipe, read from the Makefile."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = re.search(r"^dev:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe, "no dev target in the Makefile"
    return recipe.group(1).replace("$(VENV)", ".venv").split()


def test_make_dev_binds_the_dagster_ui_to_loopback():
    command = dev_command()
    assert command[command.index("-h") + 1] == "127.0.0.1"


@pytest.mark.slow
@pytest.mark.skipif(not current_scale().full, reason="HUBGENOME_RELIABILITY=full only")
def test_the_running_dagster_ui_listens_on_loopback_only(tmp_path):
    command = dev_command()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command[command.index("-p") + 1] = str(port)
    process = start(command, env=child_env(DAGSTER_HOME=str(tmp_path)))
    try:
        deadline = time.monotonic() + 240
        started = False
        while not started and time.monotonic() < deadline and process.poll() is None:
            time.sleep(1)
            started = _answers(port)
        addresses = listening_addresses(psutil.Process(process.pid))
    finally:
        kill_hard(process)
    assert started, "the Dagster UI never answered"
    assert addresses and all(is_loopback(a) for a in addresses), addresses


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


# -- SQL built with parameters ------------------------------------------------------------


def test_hostile_hub_strings_round_trip_and_never_become_sql_text(tmp_path, warehouse, record):
    records = list(generate(30, seed=31))
    for index, text in enumerate((HOSTILE, HOSTILE_TOO)):
        model = records[index]["model"]
        model["id"] = model["modelId"] = f"evil/{text}"
        model["tags"] = [*model["tags"], text, f"base_model:finetune:{text}"]
        model["cardData"] = {"base_model": text, "license": text}
        records[index]["readme"] = f"---\nlicense: mit\n---\n{text}\n"
    server = serve_store(HubStore(records))
    try:
        with open_warehouse(warehouse) as con:
            con.execute("call enable_logging('QueryLog')")
            marker = f"literal-{secrets.token_hex(4)}"
            con.execute(f"select '{marker}'")  # the log does hold statement text
            run_pipeline(con, HubClient(server.base_url), page_size=7)
            statements = [
                text for (text,) in con.execute("select message from duckdb_logs").fetchall()
            ]
            compared = assert_matches_hub(con, hub_truth(server))
            (tables,) = con.execute(
                "select count(*) from duckdb_tables() where schema_name = 'raw'"
            ).fetchone()
    finally:
        server.shutdown()
        server.server_close()
    assert any(marker in text for text in statements)
    leaked = [text for text in statements if "drop table" in text or "drop schema" in text]
    assert not leaked, leaked[:3]
    assert tables >= 7
    record("SQL in Hub strings", statements_logged=len(statements), rows=compared.rows)


SQL_METHODS = {"execute", "executemany", "sql", "query"}
# The only values interpolated into SQL text in ingestion/: schema and table names from
# constants, and a relation checked against a fixed list (`adopt_placeholders`).
IDENTIFIER_NAMES = {"schema", "table", "adoptable", "source", "target"}
# Calls that escape what they wrap (ingestion.warehouse), and DuckDB's own catalog text of a
# macro copied verbatim into the published copy (ingestion.publish).
ESCAPED = ("sql_identifier(", "sql_string(", "sql_hash(")
CATALOG_SQL = {"catalog_sql"}


def test_ingestion_builds_sql_text_from_identifiers_only():
    """Static check of the code that handles Hub strings: SQL text is a literal, or an
    f-string interpolating only identifier variables; never %-formatting, .format or +."""
    offenders = []
    for path in sorted((PROJECT_ROOT / "ingestion").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_METHODS
                and node.args
            ):
                continue
            sql = node.args[0]
            where = f"{path.name}:{node.lineno}"
            if isinstance(sql, ast.Constant) or (
                isinstance(sql, ast.Name) and sql.id.isupper()  # a module constant (DDL)
            ):
                continue
            if isinstance(sql, ast.JoinedStr):
                names = {
                    ast.unparse(part.value)
                    for part in sql.values
                    if isinstance(part, ast.FormattedValue)
                }
                names = {name for name in names if not name.startswith(ESCAPED)}
                if names <= IDENTIFIER_NAMES | CATALOG_SQL:
                    continue
                offenders.append(f"{where} interpolates {sorted(names - IDENTIFIER_NAMES)}")
            else:
                offenders.append(f"{where} builds SQL with {type(sql).__name__}")
    assert not offenders, "SQL text built from values (use parameters):\n" + "\n".join(offenders)
