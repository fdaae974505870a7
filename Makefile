# opshub developer commands. `make run` and `make test` are all most people need.
.DEFAULT_GOAL := help
.PHONY: help run test lint bench venv clean-data upgrade-data

VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

help:
	@echo "make run    start web, worker and beat on http://127.0.0.1:$${PORT:-8000}/ (embedded DB/Redis unless DATABASE_URL/REDIS_URL)"
	@echo "make test   lint, checks and the full test suite (what CI runs)"
	@echo "make lint   ruff, the import layers (lint-imports) and the boundary types (mypy)"
	@echo "make bench  the benchmark (not part of the tests)"
	@echo "make venv   create .venv and install the project with its test extras"
	@echo "make clean-data   delete .data/ (local databases; stop make run first)"
	@echo "make upgrade-data move make run's database from pgserver's PostgreSQL 16 to 18"

# The interpreter is found once, when .venv is created (see scripts/find-python.sh).
$(PY):
	@PYTHON=$$(sh scripts/find-python.sh) || exit 1; \
	echo "Creating $(VENV) with $$PYTHON"; \
	"$$PYTHON" -m venv $(VENV)

# Reinstall only when pyproject.toml changes; the stamp keeps the second run quiet and fast.
# A .venv made by hand with an older Python is rebuilt rather than failing in pip.
$(STAMP): pyproject.toml | $(PY)
	@if ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		echo "$(VENV) does not run Python >= 3.12: recreating it"; \
		PYTHON=$$(sh scripts/find-python.sh) || exit 1; \
		rm -rf $(VENV) && "$$PYTHON" -m venv $(VENV); \
	fi
	@echo "Installing opshub and its test dependencies into $(VENV) (log: $(VENV)/pip.log) ..."
	@$(PY) -m pip install --disable-pip-version-check --upgrade pip > $(VENV)/pip.log 2>&1 \
		&& $(PY) -m pip install --disable-pip-version-check -e ".[test]" >> $(VENV)/pip.log 2>&1 \
		|| { tail -40 $(VENV)/pip.log; echo "pip install failed: see $(VENV)/pip.log"; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)
	@:

run: $(STAMP)
	@$(PY) scripts/devrun.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	@# mypy's Django plugin loads the settings; type checking needs no secret key.
	OPSHUB_TESTING=true $(VENV)/bin/mypy

test: lint
	@$(PY) scripts/testrun.py $(PYTEST_ARGS)

BENCH_STAMP := $(VENV)/.installed-bench-stamp
$(BENCH_STAMP): pyproject.toml $(STAMP)
	@echo "Installing the bench extras into $(VENV) (log: $(VENV)/pip.log) ..."
	@$(PY) -m pip install --disable-pip-version-check -e ".[test,bench]" > $(VENV)/pip.log 2>&1 \
		|| { tail -40 $(VENV)/pip.log; echo "pip install failed: see $(VENV)/pip.log"; exit 1; }
	@touch $(BENCH_STAMP)

bench: $(STAMP)
	@if [ -f scripts/bench.py ]; then \
		$(MAKE) --no-print-directory $(BENCH_STAMP) && $(PY) scripts/bench.py $(BENCH_ARGS); \
	else \
		echo "make bench: not implemented yet (scripts/bench.py is missing)"; exit 1; \
	fi

# make run's database from the old embedded PostgreSQL (pgserver's 16) into the current one;
# keeps the old directory and the dumps (see docs/operations.md).
upgrade-data: $(STAMP)
	@$(PY) scripts/upgrade_pgdata.py

# Stops nothing: make run stops its own servers on exit. This only deletes local data.
clean-data:
	rm -rf .data
