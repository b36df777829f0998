"""The lm-evaluation-harness bridge (`steep.tasks.lm_eval_bridge`) on the tiny model and the tiny local task
(tests/data/lm_eval_tasks): a merged and a peft-wrapped model score through the same path, from any working
directory, offline; a pipeline asking for it without the extra fails at validation, naming the extra."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from steep.pipeline.config import ConfigError, validate_pipeline_config
from steep.tasks import lm_eval_bridge
from steep.tasks.lm_eval_bridge import LmEvalConfig, primary_scores

TASKS_DIR = Path(__file__).parents[1] / "data" / "lm_eval_tasks"
TINY_TASK_DOCS = 8  # lines in steep_tiny.jsonl


def test_scores_become_task_metric_names_gates_can_read():
    results = {"results": {"steep_tiny": {"alias": "steep_tiny", "sample_len": 8, "acc,none": 0.5, "acc_stderr,none": 0.1},
                           "gsm8k": {"exact_match,strict-match": 0.25, "exact_match_stderr,strict-match": "N/A"},
                           "mmlu.v2": {"acc,none": 1}}}  # fmt: skip
    assert primary_scores(results) == {"steep_tiny": {"acc": 0.5}, "gsm8k": {"exact_match_strict-match": 0.25}, "mmlu_v2": {"acc": 1.0}}


def test_a_pipeline_asking_for_lm_eval_without_it_fails_at_validation(pipeline_dict, monkeypatch):
    monkeypatch.setattr(lm_eval_bridge, "lm_eval_installed", lambda: False)
    pipeline_dict["eval"] = {"lm_eval": {"tasks": ["steep_tiny"]}}
    with pytest.raises(ConfigError) as error:
        validate_pipeline_config(pipeline_dict)
    assert "eval.lm_eval.tasks" in str(error.value) and "pip install 'steep[lmeval]'" in str(error.value)


@pytest.fixture
def tiny_model(tiny_model_dir):
    from steep.model.load import load_model, load_tokenizer

    return load_model(str(tiny_model_dir), "cpu"), load_tokenizer(str(tiny_model_dir))


def test_tiny_task_on_a_merged_and_a_peft_model_from_any_directory(tiny_model, tmp_path, monkeypatch):
    pytest.importorskip("lm_eval")
    from peft import LoraConfig, get_peft_model

    monkeypatch.chdir(tmp_path)  # the task's data_files is relative to its YAML, not to where steep runs
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    model, tokenizer = tiny_model
    cfg = LmEvalConfig(tasks=["steep_tiny"], include_path=TASKS_DIR, limit=6, batch_size=4)
    scores, results = lm_eval_bridge.run_lm_eval(cfg, model, tokenizer)
    assert set(scores) == {"steep_tiny"} and set(scores["steep_tiny"]) == {"acc", "acc_norm"}
    assert all(0.0 <= value <= 1.0 for value in scores["steep_tiny"].values())
    assert results["n-samples"]["steep_tiny"] == {"original": TINY_TASK_DOCS, "effective": 6}
    assert "HF_DATASETS_OFFLINE" not in os.environ  # offline only while lm-eval ran

    # a LoRA starts as a no-op (B = 0): the peft-wrapped model scores exactly as the model under it
    wrapped = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    assert lm_eval_bridge.run_lm_eval(cfg, wrapped, tokenizer)[0] == scores
