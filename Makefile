# Two commands on a fresh clone:  make demo  (the whole pipeline on the bundled demo domain)  and  make test.
# Both create their own virtual environment; nothing is downloaded at run time (only packages at install).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DATA := examples/demo/data

.PHONY: demo test install install-test clean-demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installing pulls torch==2.13.0 (see pyproject.toml); on a CUDA machine install the matching CUDA wheel first.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/steep demo-data $(DEMO_DATA)
	$(BIN)/steep run examples/demo/pipeline.yaml

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

clean-demo:
	rm -rf runs/demo $(DEMO_DATA)
