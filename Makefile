# The two fresh-machine commands are `make run` and `make test` (see README).
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install run test check lint types fast gate baseline compare test-tools clean

install: $(VENV)/.installed

# torch first, pinned: 2.13.0 is a CPU wheel on this machine; anything unpinned pulls CUDA.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

run: install
	$(BIN)/lexcite ingest
	$(BIN)/lexcite serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy

# The fast default suite: no real model, server or browser.
fast: install
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Everything CI runs: lint, types, every test marker, and the evaluation gate.
test: install test-tools lint types
	$(BIN)/pytest -q -m '' $(PYTEST_ARGS)
	$(MAKE) gate

# The release gate: index the bundled corpus afresh and evaluate the test split against
# eval/thresholds.toml (exits non-zero when a bound fails).
GATE_DIR := build/gate
gate: install
	rm -rf $(GATE_DIR)
	LEXCITE_DATA_DIR=$(GATE_DIR)/data $(BIN)/lexcite ingest --quiet
	LEXCITE_DATA_DIR=$(GATE_DIR)/data $(BIN)/lexcite eval --split test --quiet --report $(GATE_DIR)/report

# Comparing two versions (eval/README.md, "Comparing two runs"): `make baseline` on main
# saves its test-split report; `make compare` on a branch evaluates the branch and compares
# it with that report question by question, failing on the [baseline] bounds.
BASELINE_DIR := build/baseline
baseline: install
	rm -rf $(BASELINE_DIR)
	LEXCITE_DATA_DIR=$(BASELINE_DIR)/data $(BIN)/lexcite ingest --quiet
	LEXCITE_DATA_DIR=$(BASELINE_DIR)/data $(BIN)/lexcite eval --split test --quiet --report $(BASELINE_DIR)/report

COMPARE_DIR := build/compare
compare: install
	rm -rf $(COMPARE_DIR)
	LEXCITE_DATA_DIR=$(COMPARE_DIR)/data $(BIN)/lexcite ingest --quiet
	LEXCITE_DATA_DIR=$(COMPARE_DIR)/data $(BIN)/lexcite eval --split test --quiet --report $(COMPARE_DIR)/report --baseline $(BASELINE_DIR)/report/report.json

check: lint types fast

test-tools:
	@bash .ci/ensure-tools

clean:
	rm -rf $(VENV) data build *.egg-info
