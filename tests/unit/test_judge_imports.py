"""Importing the judge package (every kind's config included) loads neither torch nor transformers: validating a
pipeline YAML and `steep --help` stay fast. The model judges import them when built.

Run: PYTHONPATH=src python -m pytest tests/unit/test_judge_imports.py -q
"""

from __future__ import annotations

import subprocess
import sys


def test_importing_steep_judge_does_not_import_torch():
    code = (
        "import sys, steep.judge\n"
        "from steep.judge import JUDGE_KINDS\n"
        "assert set(JUDGE_KINDS) == {'rules', 'openai', 'hf_local', 'reward_model', 'ensemble'}, JUDGE_KINDS\n"
        "heavy = [m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
