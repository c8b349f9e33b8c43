# Two commands for a fresh machine (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test ingest browser-deps

# torch first and pinned: 2.13.0 is a CPU wheel on this machine; anything else may pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

ingest: setup
	$(BIN)/hrtp ingest

run: ingest
	$(BIN)/hrtp chat

# The browser test drives Debian's chromium (never a downloaded browser build).
browser-deps:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

test: setup browser-deps
	$(BIN)/python -m pytest
