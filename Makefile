# hubgenome: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export DAGSTER_HOME ?= $(CURDIR)/dagster_home

.PHONY: install manifest run test test-reliability lint dev clean bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The dbt manifest is a build artefact: Dagster reads it to build the asset graph.
manifest: install
	$(VENV)/bin/hubgenome dbt parse --quiet

run: manifest
	$(PY) -m orchestration.demo

# The browser test (7 minutes, needs Chromium) runs in `make e2e`.
test: manifest
	$(PY) -m pytest -m "not e2e"

# The reliability suite at full width (24 kill seeds, dbt kills, 100,000 children); its numbers
# go to reports/reliability.json for docs/reliability.md. `make test` runs the short version.
test-reliability: manifest
	HUBGENOME_RELIABILITY=full HUBGENOME_RELIABILITY_REPORT=reports/reliability.json \
		$(PY) -m pytest tests/reliability

# Hub-scale benchmark; appends its table to BENCHMARKS.md. MODELS=2000000 for the full size.
MODELS ?= 100000
bench: manifest
	$(PY) -m bench.run --models $(MODELS)

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

dev: manifest
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The UI in a real browser: dagster dev + headless Chromium; saves docs/screenshots/*.png.
e2e: manifest
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ echo "e2e needs Chromium: apt-get install -y chromium chromium-driver"; exit 1; }
	HUBGENOME_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/orchestration/test_ui_browser.py -v

clean:
	rm -rf data dbt_project/target reports
