# The two set-up commands from the README: `make demo` and `make test`. Both create .venv and
# install bbscout with its pinned dependencies (constraints.txt) on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
QUESTION ?= What pipelines failed in the last 24 hours?

.PHONY: install demo test evals bench lint typecheck-tree clean

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

# The main suite gates at its default (95%); the held-out sets, written without reading the planner,
# gate at what they honestly achieve (see evals/README.md). Every suite also gates on zero hallucinated
# refs, leaked secrets, crashes and constraints dropped silently.
HELDOUT_MIN ?= 0.95
HELDOUT2_MIN ?= 0.95
HELDOUT3_MIN ?= 0.95
# Held-out set 4 (issue 10): 53/75 on its first run, 75/75 after the root causes it revealed; a regression
# set from then on (evals/heldout/heldout4-planner-run.md).
HELDOUT4_MIN ?= 0.95
# Held-out set 5 (issue 10): 51/60 on its first run, 60/60 after the root causes it revealed; a regression
# set from then on (evals/heldout/heldout5-planner-run.md).
HELDOUT5_MIN ?= 0.95
# Read-only refusals (issue 16): 37/37 since the planner answers its two look-alike questions exactly.
REFUSALS_MIN ?= 0.95
# Chat follow-ups (issue 15): 41/41 after the referents (9/41 on the first run); see
# evals/heldout/conversations-after.md.
CONVERSATIONS_MIN ?= 0.95
evals: install
	$(BIN)/bbscout eval --planner rules --report evals/reports/latest
	$(BIN)/bbscout eval --planner rules --cases evals/heldout/heldout.yaml --min-pass-rate $(HELDOUT_MIN) --report evals/reports/heldout
	$(BIN)/bbscout eval --planner rules --cases evals/heldout/heldout2.yaml --min-pass-rate $(HELDOUT2_MIN) --report evals/reports/heldout2
	$(BIN)/bbscout eval --planner rules --cases evals/heldout/heldout3.yaml --min-pass-rate $(HELDOUT3_MIN) --report evals/reports/heldout3
	$(BIN)/bbscout eval --planner rules --cases evals/heldout/heldout4.yaml --min-pass-rate $(HELDOUT4_MIN) --report evals/reports/heldout4
	$(BIN)/bbscout eval --planner rules --cases evals/heldout/heldout5.yaml --min-pass-rate $(HELDOUT5_MIN) --report evals/reports/heldout5
	$(BIN)/bbscout eval --planner rules --cases evals/heldout/refusals.yaml --min-pass-rate $(REFUSALS_MIN) --report evals/reports/refusals
	$(BIN)/bbscout eval --planner rules --cases evals/heldout/conversations.yaml --min-pass-rate $(CONVERSATIONS_MIN) --report evals/reports/conversations

# ruff (lint + format) over the tree; mypy over the package (strict on agent/ and tools/).
TYPECHECK := build/typecheck/bbscout
typecheck-tree:
	mkdir -p $(TYPECHECK)
	for d in agent tools sandbox evals; do ln -sfn ../../../$$d $(TYPECHECK)/$$d; done

lint: install typecheck-tree
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p bbscout.agent -p bbscout.tools -p bbscout.sandbox -p bbscout.evals

bench: install
	$(BIN)/python benchmarks/bench_frugal.py
	$(BIN)/python benchmarks/bench_tools.py
	$(BIN)/python benchmarks/bench_world.py
	$(BIN)/python benchmarks/bench_sandbox.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
