# SPDX-License-Identifier: GPL-3.0-or-later
# sre.ovirt: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
SIM_STATE ?= .sim-state
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: help venv deps demo test unit simulator-tests conformance integration molecule sanity lint sim bench exporter clean galaxy docs docs-lint docs-guides

help:
	@echo "make demo   - provision three VMs against the embedded Engine simulator"
	@echo "make test   - run every test (unit, simulator, conformance, integration, molecule, sanity, lint, galaxy, docs-lint)"
	@echo "make sim    - run a simulator on https://127.0.0.1:8443 (state in $(SIM_STATE))"
	@echo "make bench  - benchmarks (tables + JSON under tests/benchmarks/results)"
	@echo "make docs   - the docs site (module/role/plugin reference and the guides) in build/docsite/build/html"
	@echo "make exporter - run sre-ovirt-exporter against \$$OVIRT_URL (docs/monitoring.md)"

# Debian packages: qemu-img for disk images, libcurl/libxml2 headers to build the SDK's pycurl, Prometheus,
# promtool and the Pushgateway for the SLO tests, BIND's named for the DNS update tests.
deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  command -v qemu-img >/dev/null || missing="$$missing qemu-utils"; \
	  command -v curl-config >/dev/null || missing="$$missing libcurl4-openssl-dev"; \
	  [ -e /usr/include/libxml2/libxml/parser.h ] || missing="$$missing libxml2-dev"; \
	  [ -e /usr/include/openssl/ssl.h ] || missing="$$missing libssl-dev"; \
	  command -v gcc >/dev/null || missing="$$missing gcc"; \
	  command -v promtool >/dev/null || missing="$$missing prometheus"; \
	  command -v prometheus-pushgateway >/dev/null || missing="$$missing prometheus-pushgateway"; \
	  command -v named >/dev/null || missing="$$missing bind9"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	elif ! command -v qemu-img >/dev/null; then \
	  echo "qemu-img is missing: install qemu-utils (Debian) or qemu-img (Fedora/RHEL)" >&2; exit 1; \
	elif ! command -v promtool >/dev/null || ! command -v prometheus-pushgateway >/dev/null; then \
	  echo "prometheus/promtool and prometheus-pushgateway are missing: install Debian's prometheus and prometheus-pushgateway" >&2; exit 1; \
	fi

$(STAMP): requirements.txt requirements-dev.txt tests/simulator/pyproject.toml | deps
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: deps $(STAMP)

demo: venv
	$(BIN)/python tests/demo.py

# Two pytest workers (one per core here); --dist loadfile keeps each file's tests, in order, on one worker.
test: venv
	$(PYTEST) -n 2 --dist loadfile tests/unit tests/simulator/tests tests/conformance tests/integration
	$(MAKE) --no-print-directory molecule
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory galaxy
	$(MAKE) --no-print-directory docs-lint

unit: venv
	$(PYTEST) tests/unit

simulator-tests: venv
	$(PYTEST) tests/simulator/tests

# Clients we did not write (the SDK's published examples, the official ovirt.ovirt collection), fetched from
# PyPI at pinned versions into ~/.cache/sre-ovirt (or $SRE_OVIRT_CACHE) and run unchanged.
conformance: venv
	$(PYTEST) tests/conformance

integration: venv
	$(PYTEST) tests/integration

molecule: venv
	bash tests/molecule.sh

sanity: venv
	bash tests/sanity.sh

lint: venv
	bash tests/lint.sh

# The release tarball, built from this checkout, imported with galaxy-importer offline and without containers
# (tests/galaxy.sh, tests/galaxy-importer.cfg); any importer warning fails.
galaxy: venv
	bash tests/galaxy.sh

# antsibull-docs: the guides in docs/docsite/rst match docs/*.md, and lint-collection-docs --plugin-docs is clean.
docs-lint: venv
	bash tests/docs.sh lint

# The docs site (Sphinx, offline): module, role and plugin reference and the guides, in build/docsite/build/html.
docs: venv
	bash tests/docs.sh build

# After editing a guide in docs/*.md: regenerate docs/docsite/rst/*.rst and docs/docsite/extra-docs.yml.
docs-guides: venv
	$(BIN)/python tests/support/docsite.py

sim: venv
	$(BIN)/ovirt-engine-sim --listen 127.0.0.1:8443 --state-dir $(SIM_STATE) --seed default

bench: venv
	$(BIN)/python tests/benchmarks/bench_simulator.py
	$(BIN)/python tests/benchmarks/bench_provision.py
	$(BIN)/python tests/benchmarks/bench_gate.py --with-prometheus
	$(BIN)/python tests/benchmarks/bench_patch.py
	$(BIN)/python tests/benchmarks/bench_exporter.py
	$(BIN)/python tests/benchmarks/bench_inventory.py
	$(BIN)/python tests/benchmarks/bench_backup.py
	$(BIN)/python tests/benchmarks/bench_backup_parallel.py
	$(BIN)/python tests/benchmarks/bench_offsite.py
	$(BIN)/python tests/benchmarks/bench_retention.py
	$(BIN)/python tests/benchmarks/bench_dr.py

# sre-ovirt-exporter against $$OVIRT_URL (docs/monitoring.md); EXPORTER_ARGS="--port 9810 --once" etc.
exporter: venv
	$(BIN)/python scripts/sre-ovirt-exporter $(EXPORTER_ARGS)

clean:
	rm -rf $(SIM_STATE) tests/output .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
