"""The demo pipeline shrunk for CI: same YAML as `make demo`, test-scale data, fewer steps and samples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO_YAML = REPO / "examples" / "demo" / "pipeline.yaml"
DATA_SCALE = 0.3

# Shrinks the run to a few minutes on 2 CPU cores while keeping every stage's mechanism whole.
TEST_OVERRIDES = {
    "base.from_scratch.optim.epochs": 2,
    "cpt.optim.epochs": 2,
    "sft.max_heldout": 24,
    "dpo.rounds": 1,
    "dpo.max_prompts_per_round": 60,
    "dpo.max_heldout": 24,
    "rs.rollouts_per_scenario": 4,
    "rs.max_heldout": 4,
    "eval.max_docs": 20,
    "eval.max_prompts": 8,
    "eval.max_dialogues": 2,
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
