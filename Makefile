# make run    create .venv if missing, install the pinned requirements, serve the app on 127.0.0.1:7860
# make test   the same set-up, plus Fashion-MNIST and Chromium from Debian (as root), then the tests
# make screenshots  the README's screenshots of every tab, taken by the browser test
# make bench  the benchmark suite (ratios against references measured in the same run)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup system-deps run test bench screenshots deploy clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@start=$$(date +%s); $(PY) -m pip install -q -r requirements-dev.txt && \
	  echo "installed requirements in $$(( $$(date +%s) - start )) s"
	@touch $(STAMP)

setup: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

run: setup
	$(PY) app.py $(ARGS)

# the browser test's screenshots of every tab at 1400 and 800 px: look at them (CI keeps the folder)
SCREENSHOTS ?= $(CURDIR)/artifacts/screenshots

test: setup system-deps
	PLAYGROUND_SCREENSHOTS=$(SCREENSHOTS) $(PY) -m pytest -q $(PYTEST_ARGS)

# the README's pictures (docs/screenshots/<tab>.png): the browser test, writing its 1400-px view of each tab there
screenshots: setup system-deps
	PLAYGROUND_README_SHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -q tests/test_e2e.py -k "every_tab and 1400"

# a Hugging Face Space from the tracked files (binary ones through LFS/Xet): make deploy SPACE=owner/name
deploy: setup
	$(PY) scripts/deploy_space.py $(SPACE)

bench: setup
	$(PY) -m pip install -q -r requirements-bench.txt
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
