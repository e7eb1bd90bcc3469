# The two commands that matter: `make demo` and `make test`. Each does its own set-up, idempotently.
PYTHON ?= python3
PMO := $(PYTHON) -m provider_migration.cli.main
DEV_DIR ?= .dev
PYTEST_ARGS ?=
export PYTHON DEV_DIR

.PHONY: setup setup-python test test-unit test-e2e lint demo dev-up dev-down dev-status crds clean

setup:  ## apt prometheus and chromium (when missing), pip install -e '.[dev]', Go builds of kube-apiserver/etcd/helm
	bash hack/ci-setup.sh

setup-python:
	bash hack/ci-setup.sh python

test: setup  ## unit + e2e against a real local control plane; JUnit XML in build/junit.xml
	@mkdir -p build
	$(PYTHON) -m pytest $(wildcard tests/unit tests/e2e) --junitxml=build/junit.xml $(PYTEST_ARGS)

test-unit: setup-python  ## no servers; "no tests collected" (exit 5) is fine while tests/unit is empty
	@mkdir -p build
	@rc=0; $(PYTHON) -m pytest $(wildcard tests/unit) --junitxml=build/junit-unit.xml $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no unit tests yet"; exit 0; fi; exit $$rc

test-e2e: setup
	@mkdir -p build
	$(PYTHON) -m pytest tests/e2e --junitxml=build/junit-e2e.xml $(PYTEST_ARGS)

LINT_DIRS := operator workshop tests $(wildcard bench)

lint: setup-python  ## ruff check, ruff format --check, mypy, import contracts (lint-imports)
	$(PYTHON) -m ruff check $(LINT_DIRS)
	$(PYTHON) -m ruff format --check $(LINT_DIRS)
	$(PYTHON) -m mypy operator workshop tests $(wildcard bench)
	$(PYTHON) -c 'import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())' --no-cache

demo: setup  ## pmo demo (success scenario); the environment is left running (make dev-down). DEMO_ARGS="--scenario latency"
	$(PMO) demo --scenario success --dir $(DEV_DIR) --keep $(DEMO_ARGS)

dev-up: setup
	$(PMO) dev up --dir $(DEV_DIR)

dev-status:
	$(PMO) dev status --dir $(DEV_DIR)

dev-down:
	$(PMO) dev down --dir $(DEV_DIR)

crds: setup-python  ## regenerate the checked-in CRDs (and the chart's copies) from the pydantic models
	$(PMO) crds --dir crds --dir charts/provider-migration-operator/files/crds

clean: dev-down
	rm -rf build .pytest_cache
