# The two set-up commands from the README: `make demo` and `make test`. Both create .venv and
# install bbscout with its pinned dependencies (constraints.txt) on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
QUESTION ?= What pipelines failed in the last 24 hours?

.PHONY: install demo test evals bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/bbscout ask "$(QUESTION)"

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

evals: install
	$(BIN)/bbscout eval --planner rules --report evals/reports/latest

bench: install
	$(BIN)/python benchmarks/bench_tools.py
	$(BIN)/python benchmarks/bench_world.py
	$(BIN)/python benchmarks/bench_sandbox.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
