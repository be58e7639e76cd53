# MedShield: `make demo` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BUILD  := build
export MEDSHIELD_SHARED_DATA ?= $(abspath ../shared/data)

.PHONY: demo test lint typecheck pytest bench sysdeps clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; install Python 3.11"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p $(BUILD)
	$(BIN)/medshield simulate --devices 60 --duration 300 --seed 7 \
		--out $(BUILD)/demo-hospital.pcap --truth $(BUILD)/demo-truth.json
	$(BIN)/medshield assess $(BUILD)/demo-hospital.pcap --db sqlite:///$(BUILD)/demo.db \
		--json $(BUILD)/demo-assessment.json --report report.html
	$(BIN)/medshield inventory --db sqlite:///$(BUILD)/demo.db --format table

# Debian packages the tests talk to: tshark (reference decoder) and PostgreSQL (store tests).
sysdeps:
	@bash scripts/install-sysdeps

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) sysdeps
	$(BIN)/python -m pytest -q -n 2

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/run.py --packets 1000000 --repeat 5 --out bench/RESULTS.md

clean:
	rm -rf $(BUILD) report.html .pytest_cache .mypy_cache .ruff_cache
