# Failcast: `make run` starts the server at http://localhost:8000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The `deep` extra (torch, for the LSTM member of the failure model), with PyTorch's CPU index
# beside the usual ones: PyPI's torch is the CUDA build on Linux, several GB, and the CPU build's
# `+cpu` version ranks first. Its dependencies still come from the usual indexes, and an
# unreachable CPU index is tried once. `make run DEEP=` installs without torch.
DEEP ?= deep
TORCH := torch==2.13.0
TORCH_INDEX := https://download.pytorch.org/whl/cpu
comma := ,
# Checks (and as root installs) the Debian packages the tests drive; `make test SYSTEM_DEPS=`
# skips the check, and the tests that need a missing package are skipped.
SYSTEM_DEPS ?= scripts/system-deps.sh

.PHONY: run test check install fmt proto bench screenshots clean

$(STAMP): pyproject.toml sdk/pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(if $(DEEP),$(BIN)/pip install --quiet '$(TORCH)' --extra-index-url $(TORCH_INDEX) --retries 1)
	$(BIN)/pip install --quiet -e '.[postgres,dev$(if $(DEEP),$(comma)$(DEEP))]' -e ./sdk
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/failcast up --host 0.0.0.0 --port 8000 --demo

test: $(STAMP)
	$(if $(SYSTEM_DEPS),$(SYSTEM_DEPS))
	$(BIN)/pytest

# Refresh the README's screenshots of every page (dark, light, phone) from the dashboard test.
screenshots: $(STAMP)
	FAILCAST_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/e2e/test_dashboard.py

check: $(STAMP)
	$(BIN)/ruff check src tests bench sdk
	$(BIN)/ruff format --check src tests bench sdk
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports
	$(BIN)/pytest

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests bench sdk
	$(BIN)/ruff format src tests bench sdk

proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -Isrc --python_out=src src/failcast/proto/remote.proto

bench: $(STAMP)
	for script in bench/[a-z]*.py; do $(BIN)/python -m bench.$$(basename $$script .py) || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
