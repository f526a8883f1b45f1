# Failcast: `make run` starts the server at http://localhost:8000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The `deep` extra's torch, pinned to the CPU build: an unpinned torch would pull the CUDA stack.
TORCH := torch==2.13.0

.PHONY: run test check install fmt proto bench screenshots clean

$(STAMP): pyproject.toml sdk/pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet '$(TORCH)'
	$(BIN)/pip install --quiet -e '.[postgres,dev,deep]' -e ./sdk
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/failcast up --host 0.0.0.0 --port 8000 --demo

test: $(STAMP)
	$(BIN)/pytest

# Refresh the README's screenshots of every page (dark, light, phone) from the dashboard test.
screenshots: $(STAMP)
	FAILCAST_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/e2e/test_dashboard.py

check: $(STAMP)
	$(BIN)/ruff check src tests bench sdk
	$(BIN)/ruff format --check src tests bench sdk
	$(BIN)/mypy --strict src

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests bench sdk
	$(BIN)/ruff format src tests bench sdk

proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -Isrc --python_out=src src/failcast/integrations/proto/remote.proto

bench: $(STAMP)
	for script in bench/[a-z]*.py; do $(BIN)/python -m bench.$$(basename $$script .py) || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
