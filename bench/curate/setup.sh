#!/usr/bin/env bash
# Create bench/.venv: steep (editable, with Presidio) plus the tools it is measured against, datatrove and
# datasketch. A separate venv so the project's own environment never carries benchmark-only packages.
#
#     bash bench/curate/setup.sh            # then: bench/.venv/bin/python bench/curate/run.py
#
# torch is pinned as in pyproject.toml (its CPU wheel is what this project's machines carry); pip keeps an
# already installed CUDA build of the same release.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VENV=bench/.venv
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# orjson and xxhash are what datatrove's JSONL reader/writer and MinHash need (its `io`/`processing` extras, which
# pull far more); xxhash 4 refuses the str input datatrove hashes, hence < 4 as datatrove itself pins it.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0" -e '.[presidio]' datatrove datasketch orjson 'xxhash<4'
"$VENV/bin/python" -c "import datatrove, datasketch, presidio_analyzer, steep; print('bench venv ready')"
