# Portcullis: `make up` runs the whole platform on this machine, `make test` runs every
# test. Both work on a fresh clone with only python3 (3.11) on PATH: uv is installed
# into a repo-local tools venv (.tools/) and never downloads an interpreter.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
# The interpreter itself, not a wrapper such as a pyenv shim: uv compares it with the
# one .venv was made from and would recreate .venv on every run if they differed.
PYTHON_EXE := $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null)
TOOLS_DIR := .tools
UV := $(TOOLS_DIR)/bin/uv
# The uv that wrote uv.lock; a newer one may rewrite the lock format.
UV_VERSION ?= 0.13.9
PYTEST_ARGS ?=
# Test processes for `make test` (pytest-xdist; whole files per process, so a module's
# servers are started once). 1 runs the suite in this process alone.
PYTEST_WORKERS ?= 2
BENCH_ARGS ?=
# Examples per route for `make fuzz`; `make test` runs the same suite with a small number.
FUZZ_EXAMPLES ?= 300

export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
export UV_PYTHON := $(PYTHON_EXE)

# A committed lock is installed exactly as written; without one uv resolves afresh.
SYNC_FLAGS := $(if $(wildcard uv.lock),--frozen,)
RUN := $(UV) run --no-sync

.PHONY: help up test lint bench fuzz sync clean-tools

help:
	@echo "make up     start NATS, Valkey, SeaweedFS S3, the mock provider, gateway, logger"
	@echo "            and analytics in the foreground (Ctrl-C stops them; data in .portcullis/)"
	@echo "make test   lint, then every test in the repo (PYTEST_ARGS=... passes options on)"
	@echo "make lint   ruff check + ruff format --check + mypy (the pure packages)"
	@echo "make bench  gateway vs direct upstream with nginx + wrk (see bench/README.md)"
	@echo "make fuzz   the fuzzing suite at length (FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) per route, coverage phase on)"

$(UV):
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else f"Portcullis needs Python 3.11; $(PYTHON) is {v[0]}.{v[1]}. Set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(TOOLS_DIR)
	$(TOOLS_DIR)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

sync: $(UV)
	$(UV) sync $(SYNC_FLAGS) --python "$(PYTHON_EXE)"

up: sync
	$(RUN) portcullis-up

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

# pytest exits 5 when it collected nothing; that must fail the build like any error.
test: lint
	@set +e; $(RUN) pytest $(if $(filter-out 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; failing." >&2; fi; \
	exit $$rc

# The fuzzing suite at length: many more examples per route and schemathesis's coverage
# phase (boundary and negative values of every parameter); prints its case counts.
fuzz: sync
	PORTCULLIS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) PORTCULLIS_FUZZ_COVERAGE=1 $(RUN) pytest tests/fuzz $(PYTEST_ARGS)

bench: sync
	$(RUN) python bench/run.py $(BENCH_ARGS)

clean-tools:
	rm -rf $(TOOLS_DIR)
