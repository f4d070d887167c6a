# semtool: two commands for a newcomer on a fresh Debian machine.
#   make demo   the main job on the built-in default (Fashion-MNIST, real WordNet), CPU, offline
#   make test   the whole test suite
# Both create or refresh .venv (idempotent) and install the Debian data packages when run as root.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.semtool-installed
DEBS   := wordnet-base wordnet-sense-index dataset-fashion-mnist

.PHONY: demo test setup system-packages completions readme clean

demo: setup
	@bash scripts/demo.sh

test: setup
	@echo "==> running the test suite (pytest)"
	@$(PY) -m pytest $(PYTEST_ARGS)

setup: system-packages $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> virtual environment $(VENV) (created if missing)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "!! could not create $(VENV); on Debian: apt-get install python3-venv" >&2; exit 1; }
	@echo "==> installing semtool with its test extras (torch, diffusers, transformers: the first time takes a while)"
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[test]'
	@echo "==> installing torchattacks (test-only reference) without its pinned dependencies"
	@$(PY) -m pip install --quiet --no-deps torchattacks
	@touch $(STAMP)

system-packages:
	@bash scripts/system-packages.sh $(DEBS)

completions: setup
	@$(PY) scripts/gen_completions.py

readme: setup
	@$(PY) scripts/gen_readme.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
