"""eval.lm_eval in a real (tiny) pipeline: base + a LoRA sft + eval running the tiny local lm-eval task.

Each model's scores land in metrics.json under `models.<stage>.lm_eval.<task>.<metric>`, lm-eval's full results in
eval/lm_eval.json, the report gets its lm-evaluation-harness table, and a gate can read the scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steep.artifacts import read_manifest
from steep.pipeline.config import validate_pipeline_config
from steep.pipeline.runner import run_pipeline

pytest.importorskip("lm_eval")
pytestmark = pytest.mark.slow
TASKS_DIR = Path(__file__).parents[1] / "data" / "lm_eval_tasks"


@pytest.fixture(scope="module")
def lm_eval_run(demo_data, tiny_model_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("lm_eval") / "run"
    d = demo_data
    raw = {
        "run_dir": str(run_dir), "device": "cpu",
        "base": {"path": str(tiny_model_dir)},
        "sft": {
            "train": str(d / "sft_train.jsonl"), "heldout": str(d / "sft_heldout.jsonl"), "format_pattern": r"Answer: .+", "max_heldout": 2,
            "lora": {"r": 4, "alpha": 8}, "optim": {"max_steps": 3, "batch_size": 4},
            "generation": {"max_new_tokens": 8, "temperature": 0.0},
        },
        "eval": {"max_prompts": 2, "lm_eval": {"tasks": ["steep_tiny"], "include_path": str(TASKS_DIR), "batch_size": 4}},
        "gates": [{"stage": "eval", "metric": "models.sft.lm_eval.steep_tiny.acc", "min": 0.0}],
    }  # fmt: skip
    run_pipeline(validate_pipeline_config(raw))
    return run_dir


def test_eval_folds_lm_eval_scores_into_every_models_row(lm_eval_run):
    metrics = json.loads((lm_eval_run / "eval" / "metrics.json").read_text())
    assert list(metrics["models"]) == ["base", "sft"]
    for row in metrics["models"].values():
        assert set(row["lm_eval"]) == {"steep_tiny"} and 0.0 <= row["lm_eval"]["steep_tiny"]["acc"] <= 1.0
    assert metrics["gates"][0]["metric"] == "models.sft.lm_eval.steep_tiny.acc" and metrics["gates"][0]["passed"]
    full = json.loads((lm_eval_run / "eval" / "lm_eval.json").read_text())
    assert set(full) == {"base", "sft"} and full["sft"]["results"]["steep_tiny"]["acc,none"] == metrics["models"]["sft"]["lm_eval"]["steep_tiny"]["acc"]
    assert "lm_eval" in read_manifest(lm_eval_run / "eval")["outputs"]


def test_the_report_shows_the_lm_eval_table(lm_eval_run):
    page = (lm_eval_run / "eval" / "report.html").read_text()
    assert "<section id='lm_eval'><h2>lm-evaluation-harness</h2>" in page and "steep_tiny" in page
    markdown = (lm_eval_run / "eval" / "report.md").read_text()
    assert "## lm-evaluation-harness" in markdown and "| steep_tiny | acc |" in markdown
