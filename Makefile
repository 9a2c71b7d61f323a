# fleetclock.timesync — the two commands the README documents, plus their parts.
#   make audit [INVENTORY=path] [ARGS='-e ...']   audit a fleet (default: a local demo fleet)
#   make test                                     set up everything and run every test
#   make matrix                                   unit tests and localhost smoke on every ansible-core of the matrix
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help audit demo-down test setup lint sanity unit integration build guard matrix molecule lab

help:
	@sed -n 's/^#   //p' Makefile

audit:
	@bash scripts/audit.sh

demo-down:
	@bash scripts/demo-fleet.sh down

test:
	@bash scripts/test.sh

setup:
	@bash scripts/setup.sh

# unit and integration tests use the controller's tools (chronyd -p, promtool, faketime): host-tools installs them.
lint unit integration build:
	@bash scripts/setup.sh venv collections host-tools && FC_STEPS=$@ bash scripts/test.sh

sanity:
	@bash scripts/setup.sh venv collections matrix && FC_STEPS=$@ bash scripts/test.sh

matrix:
	@bash scripts/setup.sh venv collections host-tools matrix && FC_MATRIX_SERIAL=1 FC_STEPS="$$(awk '!/^#/ && NF { printf "matrix-%s ", $$1 }' tests/matrix/releases.txt)" bash scripts/test.sh

molecule:
	@bash scripts/setup.sh && FC_STEPS="molecule-cloud molecule-audit molecule-airgap molecule-remediate" bash scripts/test.sh

lab:
	@bash scripts/setup.sh venv collections && FC_STEPS=lab bash scripts/test.sh

guard:
	@bash scripts/setup.sh venv collections host-tools docker images guard-wheels && FC_STEPS=guard bash scripts/test.sh
