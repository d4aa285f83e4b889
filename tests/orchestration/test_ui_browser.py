"""The Dagster UI in a real browser: `dagster dev` on loopback, driven by headless Chromium.

Checks the asset graph joins raw -> staging -> marts -> analytics into one lineage, launches
"Materialize all" from the UI, waits for the run to succeed, switches the automation sensor on
from the UI, and takes screenshots: into `HUBGENOME_SCREENSHOTS` when set (`make e2e` sets it
to `docs/screenshots`), else into the test's temp folder. Skips when Chromium or its driver is
not installed (`apt-get install -y chromium chromium-driver`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ingestion.config import PROJECT_ROOT
from ingestion.localhub.server import serve

LINEAGE = [
    ("raw", "hub_models"),
    ("staging", "stg_hub__models"),
    ("intermediate", "int_model_traits"),
    ("marts", "fct_model_edges"),
    ("analytics", "reproduction_report"),
]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1300",
)

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("Chromium not installed: apt-get install -y chromium chromium-driver")
    pytest.importorskip("selenium")
    return browser, driver


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(base_url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def wait_for(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def stop_process_group(process: subprocess.Popen, grace: float = 60) -> None:
    """Stop `dagster dev` and everything it started (its webserver, daemon and code server
    share its process group): SIGTERM the group, then SIGKILL whatever outlived the leader."""
    os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    # Members left after the leader exited keep the group id in use, so this reaches them only.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def dagster_ui(small_snapshot, tmp_path):
    """`dagster dev` with a fresh DAGSTER_HOME, a fresh warehouse and a local Hub."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    hub = serve(small_snapshot)
    port = free_port()
    env = dict(
        os.environ,
        DAGSTER_HOME=str(home),
        HF_ENDPOINT=hub.base_url,
        HUBGENOME_WAREHOUSE=str(tmp_path / "warehouse.duckdb"),
        # Only the run launched from the UI: sensors and schedules start stopped here.
        HUBGENOME_AUTOMATION="off",
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    )
    log = (tmp_path / "dagster-dev.log").open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: graphql(base_url, "{ assetNodes { id } }")["assetNodes"],
            timeout=240,
            what="dagster dev to serve the code location",
        )
        yield base_url
    finally:
        stop_process_group(process)
        log.close()
        hub.shutdown()
        hub.server_close()


@pytest.fixture
def browser(tmp_path):
    chromium, chromedriver = chromium_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


def lineage_parents(base_url: str) -> dict[str, set[str]]:
    nodes = graphql(base_url, "{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    return {
        "/".join(node["assetKey"]["path"]): {
            "/".join(dep["path"]) for dep in node["dependencyKeys"]
        }
        for node in nodes["assetNodes"]
    }


def is_ancestor(parents: dict[str, set[str]], ancestor: str, key: str) -> bool:
    frontier, seen = [key], set()
    while frontier:
        for parent in parents.get(frontier.pop(), ()):
            if parent == ancestor:
                return True
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return False


def dismiss_welcome_dialog(browser, wait) -> None:
    """The first visit shows a newsletter dialog over the graph; skip it."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    try:
        skip = wait.until(ec.element_to_be_clickable((By.XPATH, "//button[.//text()='Skip']")))
    except TimeoutException:
        return
    skip.click()


def sensor_status(base_url: str, name: str) -> str | None:
    sensors = graphql(
        base_url,
        '{ sensorsOrError(repositorySelector: {repositoryName: "__repository__", '
        'repositoryLocationName: "hubgenome"}) { ... on Sensors { results { name '
        "sensorState { status } } } } }",
    )["sensorsOrError"]["results"]
    return next((x["sensorState"]["status"] for x in sensors if x["name"] == name), None)


def latest_run(base_url: str) -> dict | None:
    runs = graphql(
        base_url, "{ runsOrError(limit: 1) { ... on Runs { results { runId status } } } }"
    )["runsOrError"]["results"]
    return runs[0] if runs else None


def test_the_ui_shows_one_lineage_and_materializes_it(dagster_ui, browser, tmp_path):
    screenshots = Path(os.environ.get("HUBGENOME_SCREENSHOTS") or tmp_path / "screenshots")
    if not screenshots.is_absolute():
        screenshots = PROJECT_ROOT / screenshots
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    parents = lineage_parents(dagster_ui)
    chain = ["/".join(step) for step in LINEAGE]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        assert is_ancestor(parents, upstream, downstream), f"{upstream} is not above {downstream}"

    wait = WebDriverWait(browser, 120)
    screenshots.mkdir(parents=True, exist_ok=True)
    browser.get(f"{dagster_ui}/asset-groups")
    dismiss_welcome_dialog(browser, wait)
    for layer in ("raw", "staging", "intermediate", "marts", "analytics"):
        wait.until(ec.presence_of_element_located((By.XPATH, f"//*[text()='{layer}']")))
    time.sleep(2)  # let the graph layout settle before the picture
    browser.save_screenshot(str(screenshots / "layers.png"))

    report = "/".join(LINEAGE[-1])
    browser.get(f"{dagster_ui}/assets/{report}?view=lineage&lineageScope=upstream&lineageDepth=8")
    for _layer, name in LINEAGE:
        wait.until(
            ec.presence_of_element_located((By.XPATH, f"//*[contains(text(), '{name[:5]}')]"))
        )
    time.sleep(2)
    browser.save_screenshot(str(screenshots / "lineage.png"))

    browser.get(f"{dagster_ui}/asset-groups")
    assert latest_run(dagster_ui) is None
    materialize = wait.until(
        ec.element_to_be_clickable((By.XPATH, "//button[.//*[text()='Materialize all']]"))
    )
    materialize.click()
    run = wait_for(lambda: latest_run(dagster_ui), timeout=60, what="the UI to launch a run")
    finished = wait_for(
        lambda: (r := latest_run(dagster_ui))["status"] in ("SUCCESS", "FAILURE", "CANCELED") and r,
        timeout=900,
        what="the run launched from the UI to finish",
        interval=3,
    )
    assert finished["runId"] == run["runId"]
    assert finished["status"] == "SUCCESS"

    browser.get(f"{dagster_ui}/runs/{run['runId']}")
    wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(text(), 'Success')]")))
    time.sleep(2)
    browser.save_screenshot(str(screenshots / "run-from-ui.png"))

    browser.get(f"{dagster_ui}/assets/{report}?view=lineage&lineageScope=upstream&lineageDepth=8")
    wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(text(), 'reprod')]")))
    time.sleep(3)
    browser.save_screenshot(str(screenshots / "lineage-materialized.png"))

    browser.get(f"{dagster_ui}/automation")
    # Each automation row holds two checkboxes: "select" for bulk actions, then the on/off switch.
    row = "//div[contains(@class, 'ListItem_listItem')][.//*[text()='warehouse_automation']]"
    switch = wait.until(ec.presence_of_element_located((By.XPATH, f"({row}//input)[2]")))
    browser.execute_script("arguments[0].click();", switch)
    wait_for(
        lambda: sensor_status(dagster_ui, "warehouse_automation") == "RUNNING",
        timeout=60,
        what="the automation sensor to be switched on from the UI",
    )
    time.sleep(2)
    browser.save_screenshot(str(screenshots / "automation.png"))
