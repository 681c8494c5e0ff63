# Two commands for a newcomer: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

# Stamp files record which extra is installed; they are redone when pyproject.toml changes.
$(VENV)/.core: $(PY) pyproject.toml
	$(PY) -m pip install -e .
	touch $@

$(VENV)/.test: $(VENV)/.core
	$(PY) -m pip install -e ".[test]"
	touch $@

demo: $(VENV)/.core
	$(PY) -m convscope demo

test: $(VENV)/.test
	$(PY) -m pytest -q

bench: $(VENV)/.test
	$(PY) benchmarks/conv.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
