# The two commands: `make run` (set up and start everything) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test lint format bench install chromium clean

run: $(STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runstack

test: $(STAMP) chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/tower_first_response.py
	$(BIN)/python bench/broadcast_latency.py
	$(BIN)/python bench/agent_throughput.py
	$(BIN)/python bench/allocation_regret.py
	$(BIN)/python bench/detection_quality.py
	$(BIN)/python bench/ingest_throughput.py
	$(BIN)/python bench/flag_latency.py

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Browser tests drive Debian's Chromium; never a browser downloaded by a test tool.
chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

clean:
	rm -rf var/ .pytest_cache
