"""The demo pipeline shrunk for CI: same YAML as `make demo`, test-scale data, fewer steps and samples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO_YAML = REPO / "examples" / "demo" / "pipeline.yaml"
# The stages' own runs are the demo's: a tiny model learns the house format in a number of optimizer steps,
# not of documents, so shrinking the data would test a pipeline that cannot learn. Only eval is shrunk.
DATA_SCALE = 1.0
TEST_OVERRIDES = {
    "eval.max_prompts": 8,
    "eval.max_dialogues": 2,
    "eval.winrate.max_prompts": 24,
}


def set_path(tree: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        tree = tree[key]
    tree[keys[-1]] = value


def write_test_pipeline(data_dir: Path, run_dir: Path, out: Path, extra: dict | None = None) -> Path:
    """The shipped demo YAML with its data paths pointed at `data_dir` and the test shrink applied."""
    text = DEMO_YAML.read_text().replace("examples/demo/data", str(data_dir))
    tree = yaml.safe_load(text)
    tree["run_dir"] = str(run_dir)
    tree["device"] = "cpu"
    for dotted, value in {**TEST_OVERRIDES, **(extra or {})}.items():
        set_path(tree, dotted, value)
    out.write_text(yaml.safe_dump(tree, sort_keys=False))
    return out


def steep(*args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "steep", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO)
