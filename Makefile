# exchange_dr.recovery — developer entry points.
#
#   make demo     run the whole DR job against a simulated estate (does its own set-up)
#   make test     everything CI checks (.ci/run calls this)
#
# The first target that needs tools builds .venv from the pinned requirement files; later runs reuse it
# (the stamp only goes stale when a requirement file changes).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The collection must sit at ansible_collections/<namespace>/<name> for ansible and ansible-test; this link
# gives the repository that shape without copying it.
COLLECTIONS := $(ROOT)/.collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/exchange_dr/recovery
WORK := $(ROOT)/.work
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export PATH := $(BIN):$(PATH)

.PHONY: help venv lint yamllint ansible-lint ruff pscheck unit sanity build docs-check changelog-lint \
        simulator integration molecule test demo bench faults soak clean distclean constraints

help:
	@echo "make demo        run the DR job against a simulated estate and print the report"
	@echo "make test        all checks CI runs (lint, unit, sanity, build, docs, simulator, integration, molecule)"
	@echo "make lint        yamllint, ansible-lint (production), ruff, pscheck, changelog lint"
	@echo "make pscheck     PowerShell: parse, Windows PowerShell 5.1 rules, spec/doc check, result-key contract (ps1/RETURN/twin)"
	@echo "make unit        pytest unit tests"
	@echo "make sanity      ansible-test sanity (the tests that can run without pwsh)"
	@echo "make build       ansible-galaxy collection build + tarball content check"
	@echo "make docs-check  render every plugin with ansible-doc"
	@echo "make simulator   simulator end-to-end tests (real ansible against simulated hosts)"
	@echo "make integration integration targets against simulated estates (TARGETS=\"a b\" for some)"
	@echo "make molecule    molecule/default: the DR run against a simulated estate, with idempotence and testinfra checks"
	@echo "make bench       benchmarks (printed figures, nothing asserted)"
	@echo "make faults      the fault matrix: the DR run against each fault, then rerun; writes docs/fault-matrix.md (~15 min)"
	@echo "make soak        unit + simulator suites 20 times under CPU load, failures per test (RUNS=n SUITES=unit LOAD=n)"

venv: $(STAMP) $(COLLECTION_LINK)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
	# Dev-only import paths: the simulator package (tests/simulator) and the collection namespace.
	$(BIN)/python -c "import sysconfig,pathlib; pathlib.Path(sysconfig.get_paths()['purelib'], 'exchange_dr_dev.pth').write_text('$(ROOT)/tests\n$(COLLECTIONS)\n')"
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

constraints: $(STAMP)
	{ echo '# Full transitive pin set of the development environment (pip freeze). Regenerate with `make constraints`.'; \
	  $(BIN)/python -m pip freeze --exclude-editable | sort; } > constraints.txt

lint: yamllint ansible-lint ruff pscheck changelog-lint

yamllint: venv
	$(BIN)/yamllint --strict .

ansible-lint: venv
	$(BIN)/ansible-lint --offline --profile production

ruff: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Static PowerShell checks: parse, Windows PowerShell 5.1 rules, $spec vs documentation (pscheck), then the result keys of
# every module against its RETURN documentation and its simulator twin (result_contract). Both run; either fails the target.
pscheck: venv
	status=0; $(BIN)/python -m tests.tools.pscheck plugins || status=1; $(BIN)/python -m tests.tools.result_contract || status=1; exit $$status

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

unit: venv
	$(BIN)/python -m pytest tests/unit -n 2 --dist loadfile

# ansible-test runs in the collection link (it needs .../ansible_collections/<ns>/<name>) and lists files through git, so it
# sees exactly the tracked and new, not ignored files. It installs each test's pinned requirements into managed virtual
# environments under $(ANSIBLE_TEST_HOME), reused on later runs; their pip bootstrap comes from ensurepip (see
# tests/tools/get_pip_offline.py) because ansible-test's download host is not reachable here. validate-modules gets the
# argument specs of PowerShell modules from a `pwsh` stand-in that evaluates them statically (tests/tools/pwsh_argspec.py).
# Tests that cannot run without pwsh are listed, with the reason, in tests/sanity/skip.txt.
ANSIBLE_TEST_HOME := $(WORK)/ansible-test-home
PWSH_STANDIN := $(WORK)/pwsh-standin
# the pip version ansible-test bootstraps (its cache file name carries it)
ANSIBLE_TEST_PIP = $(shell $(BIN)/python -c "import re, ansible_test._internal.python_requirements as r; print(re.search(r\"pip='([0-9.]+)'\", open(r.__file__).read()).group(1))")
sanity: venv
	mkdir -p $(ANSIBLE_TEST_HOME)/.ansible/test/cache $(PWSH_STANDIN)
	cp tests/tools/get_pip_offline.py $(ANSIBLE_TEST_HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(ANSIBLE_TEST_PIP)).py
	printf '#!/bin/sh\ncd "%s" && exec "%s" -m tests.tools.pwsh_argspec "$$@"\n' "$(ROOT)" "$(BIN)/python" > $(PWSH_STANDIN)/pwsh
	chmod +x $(PWSH_STANDIN)/pwsh
	cd $(COLLECTION_LINK) && HOME=$(ANSIBLE_TEST_HOME) ANSIBLE_TEST_CONTENT_ROOT=$(COLLECTION_LINK) PATH=$(PWSH_STANDIN):$$PATH \
	  $(BIN)/ansible-test sanity --color no --python 3.11 $$(sed -n 's/^\([a-z0-9-]*\)[[:space:]].*/--skip-test \1/p' tests/sanity/skip.txt)

build: venv
	rm -rf $(WORK)/build && mkdir -p $(WORK)/build
	$(BIN)/ansible-galaxy collection build --output-path $(WORK)/build .
	$(BIN)/python -m tests.tools.check_tarball $(WORK)/build/exchange_dr-recovery-*.tar.gz

docs-check: venv
	$(BIN)/python -m tests.tools.check_docs exchange_dr.recovery

# End-to-end tests of the simulator itself: real ansible against simulated estates.
simulator: venv
	$(BIN)/python -m pytest tests/simulator/tests -m slow -n 2 --dist loadfile

# Integration targets (tests/integration/targets/*) against simulated estates; TARGETS="a b" runs some of them.
# Against real hosts: ansible-test windows-integration --inventory <your inventory.winrm> <target> (see README).
integration: venv
	$(BIN)/python -m tests.tools.run_integration $(TARGETS)

bench: venv
	$(BIN)/python -m simulator.bench
	$(BIN)/python -m tests.bench.verify_bench
	$(BIN)/python -m tests.tools.dr_bench

# Flaky-test hunt: runs the suites RUNS times (default 20) the way `make unit` / `make simulator` do, with LOAD busy-loop
# processes (default one per CPU) competing for the CPU, and prints the failures per test and per run (tests/tools/soak_tests.py).
soak: venv
	$(BIN)/python -m tests.tools.soak_tests $(if $(RUNS),--runs $(RUNS)) $(if $(SUITES),--suites $(SUITES)) $(if $(LOAD),--load $(LOAD))

# The whole DR run against a simulated estate: starts it, prints the plan (--check), runs the DR run, prints the DR report
# summary, leaves the report files in reports/demo and stops the estate (also on failure).
demo: venv
	$(BIN)/python -m tests.tools.dr_demo

# The fault matrix: the DR run against each fault on simulated estates (2 rows at a time), then again with the fault off;
# prints the table (phase hit, error, data lost?, rerun completes?, times) and writes docs/fault-matrix.md. A subset runs in
# `make simulator` (tests/simulator/tests/test_fault_matrix.py, test_secrets.py). ROWS="a b" runs some rows (no doc).
faults: venv
	$(BIN)/python -m tests.tools.fault_matrix $(if $(ROWS),--rows $(ROWS))

# molecule/default: the DR run against a simulated estate (create, prepare, converge, idempotence, verify, destroy).
molecule: venv
	cd $(ROOT) && $(BIN)/molecule test --scenario-name default

test: lint unit sanity build docs-check simulator integration molecule

clean:
	rm -rf $(WORK) .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) $(COLLECTIONS)
