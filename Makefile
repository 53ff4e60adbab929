# Two commands on a fresh machine (Python >= 3.10 with pip and venv; Debian/Ubuntu: python3-venv):
# `make lab` and `make test`. Without make: README, "Set-up without make".
# The virtual environment is built once; a target re-run installs nothing that is already there.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.rnnlib-installed
# torch first, the CPU build: PyPI's Linux wheel is the CUDA build (several GB the course never uses),
# so on Linux torch comes from PyTorch's CPU index; PyPI's macOS and Windows wheels are CPU builds already.
# With a GPU, choose its index instead (one variable), e.g. for CUDA 12.6:
#   make lab TORCH_INDEX=https://download.pytorch.org/whl/cu126   (TORCH_INDEX= : PyPI's default build)
# TORCH_SPEC is the version range (rnnlib supports torch 2.2 and later).
UNAME      ?= $(shell uname -s)
TORCH_SPEC ?= torch>=2.2
ifeq ($(UNAME),Linux)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
else
TORCH_INDEX ?=
endif
NBVAL  := --nbval-lax --nbval-current-env --nbval-cell-timeout=600

.PHONY: lab classroom footprint test test-unit test-notebooks test-browser compare bench bench-quick notebooks links lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) '$(TORCH_SPEC)'
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
	$(PY) -m ruff check rnnlib tests tools
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
	$(PY) -m tools.benchmarks

bench-quick: $(STAMP)
	$(PY) -m tools.benchmarks --quick

# A learner's walk through the course on one Jupyter server (memory, CPU, first figure per notebook):
# benchmarks/footprint.md and README's sizing table. Runs every notebook: minutes.
footprint: $(STAMP)
	$(PY) -m tools.benchmarks.footprint

# Re-execute every notebook top to bottom and store the outputs (do this after changing rnnlib).
notebooks: $(STAMP)
	$(PY) -m tools.course run

# After changing the repository URL in README.md (a fork): regenerate badges and Colab install lines.
links: $(STAMP)
	$(PY) -m tools.course links

lint: $(STAMP)
	$(PY) -m ruff check rnnlib tests tools

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
