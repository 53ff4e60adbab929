# Two commands on a fresh machine (Python 3.11 + pip): `make lab` and `make test`.
# The virtual environment is built once; a target re-run installs nothing that is already there.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.rnnlib-installed
# torch first, pinned to the CPU wheel: a looser spec would pull a multi-GB CUDA build.
TORCH  := torch==2.13.0
NBVAL  := --nbval-lax --nbval-current-env --nbval-cell-timeout=600

.PHONY: lab classroom footprint test test-unit test-notebooks test-browser compare bench bench-quick notebooks links lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# The classroom page: every lab on one page, no code (Voilà strips it), on this machine only.
# Presenter mode (larger text and figures for a projector): the switch on the page, or open
# http://127.0.0.1:$(CLASSROOM_PORT)/?presenter=1
CLASSROOM_PORT ?= 8866
classroom: $(STAMP)
	$(VENV)/bin/voila --Voila.ip=127.0.0.1 --port=$(CLASSROOM_PORT) notebooks/classroom.ipynb

test: test-unit test-notebooks

test-unit: $(STAMP)
	$(PY) -m ruff check rnnlib tests
	$(PY) -m pytest tests --ignore=tests/e2e

test-notebooks: $(STAMP)
	$(PY) -m pytest $(NBVAL) notebooks/

# Real-browser tests: JupyterLab + headless Chromium (tests/e2e). Needs Debian's chromium
# (apt-get install -y chromium; .ci/run does it) and Playwright from pip (the `browser` extra).
# Browsers are never downloaded. Screenshots: test-output/e2e/; timings in the test summary.
BROWSER_STAMP := $(VENV)/.rnnlib-browser-installed
CHROMIUM ?= /usr/bin/chromium

$(BROWSER_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,browser]'
	touch $(BROWSER_STAMP)

test-browser: $(BROWSER_STAMP)
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is missing: apt-get install -y chromium"; exit 1; }
	RNNLIB_E2E_REQUIRED=1 RNNLIB_CHROMIUM=$(CHROMIUM) $(PY) -m pytest tests/e2e

compare: $(STAMP)
	$(PY) -m rnnlib compare

bench: $(STAMP)
	$(PY) -m rnnlib bench

bench-quick: $(STAMP)
	$(PY) -m rnnlib bench --quick

# A learner's walk through the course on one Jupyter server (memory, CPU, first figure per notebook):
# benchmarks/footprint.md and README's sizing table. Runs every notebook: minutes.
footprint: $(STAMP)
	$(PY) -m rnnlib.benchmarks.footprint

# Re-execute every notebook top to bottom and store the outputs (do this after changing rnnlib).
notebooks: $(STAMP)
	$(PY) -m rnnlib.course run

# After changing the repository URL in README.md (a fork): regenerate badges and Colab install lines.
links: $(STAMP)
	$(PY) -m rnnlib.course links

lint: $(STAMP)
	$(PY) -m ruff check rnnlib tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
