# mesos.maintenance development tasks. `make help` lists the targets.
#
# Everything installs from PyPI into two virtual environments:
#   .venv       Python 3.13 (3.12 if 3.13 is missing): newest ansible-core (2.21) + all tools
#   .venv-2.17  Python 3.11: oldest supported ansible-core (2.17), for ansible-test only
# A stamp keyed on the requirement files makes a second `make` skip the installs.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV := .venv
VENV_OLDEST := .venv-2.17
PYTHONS := 3.13 3.12
PYTHONS_OLDEST := 3.11
# Oldest Python ansible-core 2.17 runs modules on (its target-only Pythons are 3.7-3.9).
TARGET_PYTHON_OLDEST := 3.7
REQUIREMENTS := scripts/requirements/dev.txt
REQUIREMENTS_OLDEST := scripts/requirements/oldest.txt
SIMULATOR := simulator

# Python code ruff checks and formats (collection plugins are left to ansible-test sanity).
RUFF_PATHS := $(wildcard simulator tests benchmarks scripts)

# pytest-ansible makes the collection importable through this path (see pytest.ini).
COLLECTION_LINK := collections/ansible_collections/mesos/maintenance
# worksteal: with the default `load`, the tests already queued on one worker stay there, and the other one sat
# idle for the last 20 of 35 minutes of a CI run.
PYTEST_ARGS ?= -n auto --dist worksteal
# pytest exit code 5 (no test collected) fails `make pytest` unless this is 1.
ALLOW_NO_TESTS ?= 0

# Tools from the venv come first on PATH for the commands that start other tools.
VENV_PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} \
		/^##@/ {printf "\n%s\n", substr($$0, 5)} \
		/^[a-zA-Z0-9_.-]+:.*## / {printf "  %-22s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Environments

.PHONY: venvs venv venv-oldest
venvs: venv venv-oldest ## Create/update both virtual environments

venv: ## Create/update .venv (Python 3.13, ansible-core 2.21, tools, simulator editable)
	@scripts/ensure-venv.sh $(VENV) "$(PYTHONS)" $(REQUIREMENTS) $(SIMULATOR)

venv-oldest: ## Create/update .venv-2.17 (Python 3.11, ansible-core 2.17)
	@scripts/ensure-venv.sh $(VENV_OLDEST) "$(PYTHONS_OLDEST)" $(REQUIREMENTS_OLDEST)

##@ Gates (zero findings, no ignore files)

.PHONY: gates lint-ruff lint-ansible sanity-oldest sanity-oldest-target sanity-newest units-oldest units-newest
.PHONY: build-check changelog-lint fmt
GATES := lint-ruff lint-ansible changelog-lint build-check \
	sanity-oldest sanity-oldest-target sanity-newest units-oldest units-newest
gates: $(GATES) ## Run every gate (fast ones first)

lint-ruff: venv ## ruff check + ruff format --check on simulator/ tests/ benchmarks/ scripts/
	$(VENV)/bin/ruff check $(RUFF_PATHS)
	$(VENV)/bin/ruff format --check $(RUFF_PATHS)

# Offline, ansible-lint does not install the collection under test: it finds it (playbooks import
# mesos.maintenance.* by name) through the collections/ link, as the tests do.
lint-ansible: venv collection-link ## ansible-lint --profile production --offline on the collection
	PATH="$(VENV_PATH)" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/collections" $(VENV)/bin/ansible-lint --profile production --offline

changelog-lint: venv ## antsibull-changelog lint (fragments) + lint-changelog-yaml
	$(VENV)/bin/antsibull-changelog lint
	$(VENV)/bin/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

build-check: venv ## Build the artifact; fail on dev/test files in it or missing files
	$(VENV)/bin/python scripts/check_build.py

sanity-oldest: venv-oldest ## ansible-test sanity, ansible-core 2.17 / Python 3.11
	scripts/ansible-test.sh $(VENV_OLDEST) sanity

sanity-oldest-target: venv-oldest ## ansible-test sanity compile+import, ansible-core 2.17 / Python 3.7 (modules' oldest)
	TEST_PYTHON=$(TARGET_PYTHON_OLDEST) scripts/ansible-test.sh $(VENV_OLDEST) sanity --test compile --test import

sanity-newest: venv ## ansible-test sanity, ansible-core 2.21 / Python 3.13
	scripts/ansible-test.sh $(VENV) sanity

units-oldest: venv-oldest ## ansible-test units, ansible-core 2.17 / Python 3.11
	scripts/ansible-test.sh $(VENV_OLDEST) units

units-newest: venv ## ansible-test units, ansible-core 2.21 / Python 3.13
	scripts/ansible-test.sh $(VENV) units

fmt: venv ## Fix what ruff can: ruff format + ruff check --fix on the lint-ruff paths
	$(VENV)/bin/ruff format $(RUFF_PATHS)
	$(VENV)/bin/ruff check --fix $(RUFF_PATHS)

##@ Tests

.PHONY: test check pytest collection-link demo
# The molecule scenarios' preparation (mostly debootstrap of their image, minutes when cold) runs
# in the background while the gates and pytest keep the CPUs busy; its log is shown once it ends.
# setsid gives it a process group of its own, so that a failed gate stops debootstrap too.
MOLECULE_PREPARE_LOG := .molecule-prepare.log

test: ## system packages + venvs + every gate + pytest + the molecule scenarios (what CI runs)
	@scripts/system-deps.sh
	@$(MAKE) venvs
	@setsid scripts/molecule.sh --prepare >$(MOLECULE_PREPARE_LOG) 2>&1 & prepare=$$!; \
	rc=0; { $(MAKE) gates && $(MAKE) pytest; } || rc=$$?; \
	if [ "$$rc" -ne 0 ]; then kill -- "-$$prepare" 2>/dev/null || true; fi; \
	prepare_rc=0; wait "$$prepare" || prepare_rc=$$?; \
	echo "--- molecule preparation (scripts/molecule.sh --prepare):"; cat $(MOLECULE_PREPARE_LOG); \
	[ "$$rc" -eq 0 ] || exit "$$rc"; \
	[ "$$prepare_rc" -eq 0 ] || { echo "molecule preparation failed ($$prepare_rc)" >&2; exit "$$prepare_rc"; }; \
	$(MAKE) test-molecule

# The quick loop: what needs nothing but the venv, and a few playbook tests (markers in pytest.ini).
CHECK_MARKERS := not real_mesos and not system and (not playbook or smoke)

check: venv ## Quick loop, no system packages: ruff, changelog lint, unit, simulator and contract tests, smoke playbook tests
	@$(MAKE) lint-ruff changelog-lint
	@$(MAKE) pytest PYTEST_ARGS='$(PYTEST_ARGS) -m "$(CHECK_MARKERS)"'

# Only collections/ansible_collections/ is ours: collections/requirements.yml (AWX) is tracked.
collection-link:
	@if [ "$$(readlink $(COLLECTION_LINK) 2>/dev/null)" != "../../.." ]; then \
		rm -rf $(COLLECTION_LINK); \
		mkdir -p $(dir $(COLLECTION_LINK)); \
		ln -s ../../.. $(COLLECTION_LINK); \
	fi

pytest: venv collection-link ## pytest suite: .venv/bin/pytest -n auto --dist worksteal tests (PYTEST_ARGS=...)
	@rc=0; \
	PATH="$(VENV_PATH)" ANSIBLE_PYTHON_INTERPRETER="$(CURDIR)/$(VENV)/bin/python" \
		$(VENV)/bin/pytest $(PYTEST_ARGS) tests || rc=$$?; \
	if [ "$$rc" -eq 5 ]; then \
		if [ "$(ALLOW_NO_TESTS)" = 1 ]; then \
			echo "pytest: NO TESTS WERE COLLECTED (accepted because ALLOW_NO_TESTS=1)"; exit 0; \
		fi; \
		echo "pytest: NO TESTS WERE COLLECTED: failing (set ALLOW_NO_TESTS=1 to accept)" >&2; \
	fi; \
	exit "$$rc"

demo: venv ## Rolling maintenance of a simulated 3-master, 20-agent cluster with running tasks (playbooks/rolling_maintenance.yml)
	@PATH="$(VENV_PATH)" scripts/demo-rolling-maintenance.sh

.PHONY: demo-real
demo-real: venv ## Rolling maintenance of a real Mesos 1.11 cluster (6 agents, running tasks) with Mesos' own drain (backend native)
	@PATH="$(VENV_PATH)" scripts/demo-rolling-maintenance.sh --real

.PHONY: demo-serve bench-rolling
demo-serve: venv ## Start a simulated cluster, drain and restore one agent, keep it running for your playbooks (Ctrl-C ends it)
	@$(MAKE) collection-link
	PATH="$(VENV_PATH)" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/collections" $(VENV)/bin/python -m mesos_sim demo --serve

bench-rolling: venv ## Benchmark the rolling maintenance playbook on a simulated cluster
	PATH="$(VENV_PATH)" $(VENV)/bin/python benchmarks/bench_rolling_maintenance.py

.PHONY: test-molecule
test-molecule: ## Molecule scenarios of the allocator role on podman, part of `make test` (SCENARIO=default|uninstall|bad_module)
	scripts/molecule.sh $(SCENARIO)

.PHONY: real-mesos
real-mesos: venv ## Start a real Mesos 1.11 master with agents (local mode) for a person (ARGS=--agents 3 ...)
	$(VENV)/bin/python tests/real_mesos/run.py $(ARGS)

##@ Housekeeping

.PHONY: clean distclean
clean: ## Remove build output, caches and the collections/ansible_collections link
	rm -rf collections/ansible_collections tests/output build dist .ruff_cache .pytest_cache *.tar.gz $(MOLECULE_PREPARE_LOG)
	find . -path ./.git -prune -o -path './.venv*' -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean ## clean + remove both virtual environments
	rm -rf $(VENV) $(VENV_OLDEST) .venv-molecule
