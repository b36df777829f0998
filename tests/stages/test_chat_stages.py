"""dpo, rs, eval and serve run for real on a tiny model (demo data at test scale): each writes exactly its
artifacts, changes the weights it trains, keeps its judge's verdicts, and eval scores every model with the
training stages' own tasks.
"""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from steep.artifacts import read_jsonl, read_manifest
from steep.pipeline.config import validate_pipeline_config
from steep.pipeline.runner import run_pipeline

pytestmark = pytest.mark.slow
RULES = [
    {"kind": "regex_present", "name": "cites_policy", "pattern": r"POL-\d{4}"},
    {"kind": "max_words", "name": "word_limit", "max": 8},
    {"kind": "min_words", "name": "substantive", "min": 3},
]
TINY = {"vocab_size": 320, "hidden_size": 32, "intermediate_size": 64, "num_layers": 2, "num_heads": 2}
SMALL_LORA = {"r": 4, "alpha": 8}
SHORT = {"max_new_tokens": 12, "temperature": 1.0, "batch_size": 64}


@pytest.fixture(scope="module")
def chat_run(demo_data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("chat") / "run"
    d = demo_data
    raw = {
        "run_dir": str(run_dir),
        "device": "cpu",
        "base": {"from_scratch": {
            "corpus": [str(d / "general.jsonl")], "chat_corpus": [str(d / "general_chat.jsonl")], "architecture": TINY,
            "seq_len": 64, "optim": {"max_steps": 6, "batch_size": 8},
        }},
        "dpo": {
            "prompts": str(d / "dpo_prompts.jsonl"), "heldout": str(d / "dpo_heldout.jsonl"), "judge": {"rules": RULES},
            "max_prompts_per_round": 8, "max_heldout": 3, "lora": SMALL_LORA, "optim": {"max_steps": 3, "batch_size": 4},
            "generation": SHORT, "heldout_generation": {"max_new_tokens": 12, "temperature": 0.0},
        },
        "rs": {
            "scenarios": str(d / "rs_scenarios.jsonl"), "heldout": str(d / "rs_heldout.jsonl"), "judge": {"rules": RULES},
            "max_scenarios": 2, "rollouts_per_scenario": 2, "max_turns": 3, "late_turn": 2, "max_heldout": 1,
            "lora": SMALL_LORA, "optim": {"max_steps": 3, "batch_size": 2}, "generation": SHORT,
            "heldout_generation": {"max_new_tokens": 12, "temperature": 0.0},
        },
        "eval": {"max_prompts": 2, "max_dialogues": 1},
        "serve": {"model_name": "tiny", "smoke_prompt": "Hello?"},
    }  # fmt: skip
    run_pipeline(validate_pipeline_config(raw))
    return run_dir


def _files(stage_dir):
    return sorted(p.name for p in stage_dir.iterdir())


def test_each_stage_writes_exactly_its_artifacts(chat_run):
    assert _files(chat_run / "dpo") == ["adapter", "manifest.json", "metrics.jsonl", "model", "pairs.jsonl", "samples.jsonl"]
    assert _files(chat_run / "rs") == ["adapter", "dialogues.jsonl", "heldout_dialogues.jsonl", "kept.jsonl", "manifest.json", "metrics.jsonl", "model"]
    assert _files(chat_run / "eval") == ["answers.jsonl", "manifest.json", "metrics.json", "report.html", "report.md"]
    assert _files(chat_run / "serve") == ["manifest.json", "serve.json", "smoke.json"]


def test_eval_writes_the_run_report_from_the_run_directory(chat_run):
    # written while eval ran in eval.partial without a manifest: earlier stages from the run dir, eval's own rows
    assert {"report", "report_md"} <= set(read_manifest(chat_run / "eval")["outputs"])
    page = (chat_run / "eval" / "report.html").read_text()
    for drawn in ("base training loss", "dpo training loss", "rs dialogue scores: kept vs rejected", "rs: mean"):
        assert drawn in page
    markdown = (chat_run / "eval" / "report.md").read_text()
    assert "| dpo | base |" in markdown and "## Metrics per model" in markdown  # lineage: dpo trained base's model


def test_dpo_and_rs_change_the_weights_they_train(chat_run):
    weights = {stage: load_file(str(chat_run / stage / "model" / "model.safetensors")) for stage in ("base", "dpo", "rs")}
    for earlier, later in (("base", "dpo"), ("dpo", "rs")):
        assert any(not t.equal(weights[earlier][name]) for name, t in weights[later].items()), f"{later} changed nothing"


def test_dpo_keeps_every_verdict_and_the_judge_that_gave_it(chat_run):
    samples = read_jsonl(chat_run / "dpo" / "samples.jsonl")
    assert len(samples) == 8 * 4  # max_prompts_per_round x samples_per_prompt, one round
    assert all(set(s) >= {"prompt", "answer", "score", "passed", "rationale", "judge", "round"} for s in samples)
    assert {s["judge"] for s in samples} == {"rules:3:cites_policy,word_limit,substantive"}
    for pair in read_jsonl(chat_run / "dpo" / "pairs.jsonl"):
        assert pair["chosen_score"] > pair["rejected_score"]


def test_rs_keeps_the_best_rollout_of_each_scenario(chat_run):
    dialogues = read_jsonl(chat_run / "rs" / "dialogues.jsonl")
    kept = read_jsonl(chat_run / "rs" / "kept.jsonl")
    assert len(dialogues) == 4 and len(kept) == 2
    for keeper in kept:
        rivals = [d["score"] for d in dialogues if d["scenario_id"] == keeper["scenario_id"]]
        assert keeper["score"] == max(rivals)


def test_eval_scores_every_model_with_the_training_stages_tasks(chat_run):
    metrics = read_manifest(chat_run / "eval")["metrics"]
    assert list(metrics["models"]) == ["base", "dpo", "rs"]
    assert metrics["tasks"] == ["rules", "coherence"]
    for row in metrics["models"].values():
        assert 0 <= row["rule_pass_rate"] <= 1 and 0 <= row["coherence_late"] <= 1
    answers = read_jsonl(chat_run / "eval" / "answers.jsonl")
    assert {a["model"] for a in answers} == {"base", "dpo", "rs"}


def test_serve_smoke_request_went_through_the_app(chat_run):
    smoke = json.loads((chat_run / "serve" / "smoke.json").read_text())
    assert smoke["request"] == [{"role": "user", "content": "Hello?"}]
    assert smoke["response"]["model"] == "tiny" and smoke["response"]["choices"][0]["message"]["role"] == "assistant"
    assert read_manifest(chat_run / "serve")["inputs"]["model"]["from_stage"] == "rs"
