"""A pipeline whose sft pairs, dpo prompts and rs scenarios come only from synth (no hand-written training file):
curate -> synth -> sft -> dpo -> rs run for real on a tiny model (demo data at test scale). Mechanics, not metrics:
each stage reads synth's rows through the runner's lineage, and a rerun skips everything."""

from __future__ import annotations

import pytest

from steep.artifacts import read_jsonl, read_manifest
from steep.pipeline.config import validate_pipeline_config
from steep.pipeline.runner import run_pipeline
from tests.stages.test_chat_stages import RULES, SHORT, SMALL_LORA, TINY  # the chat stages' tiny settings

pytestmark = pytest.mark.slow
GREEDY = {"max_new_tokens": 8, "temperature": 0.0}


def _raw(d, run_dir) -> dict:
    return {
        "run_dir": str(run_dir),
        "device": "cpu",
        "use_cases": [
            {"name": "claims", "description": "home insurance claims", "examples": ["How long does a claim take?"], "documents": "(?i)claim"},
            {"name": "banking", "description": "everyday banking", "examples": ["Can I get a new card?"]},
        ],
        "base": {"from_scratch": {
            "corpus": [str(d / "general.jsonl")], "architecture": TINY, "seq_len": 64, "optim": {"max_steps": 4, "batch_size": 8},
        }},
        "curate": {"inputs": [str(d / "lake.jsonl")], "compliance": {"terms": ["Project Bluefin", "Project Kingfisher"]},
                   "time": {"cutoff": "2024-06-30", "terms": ["Kestrel Horizon Card"]}},
        "synth": {
            "system_prompt": "You are the support assistant.", "answer_format": "Answer: {answer}\nSource: {source}",
            "source_pattern": r"POL-\d{4}", "max_documents": 12, "sft": {"per_document": 2}, "dpo": {"per_document": 2},
            "rs": {"per_document": 1, "follow_ups": 3},
        },
        "sft": {
            "train": {"from": "synth"}, "heldout": str(d / "sft_heldout.jsonl"), "format_pattern": r"Answer: .+", "max_heldout": 2,
            "lora": SMALL_LORA, "optim": {"max_steps": 2, "batch_size": 4}, "generation": GREEDY,
        },
        "dpo": {
            "prompts": {"from": "synth"}, "heldout": str(d / "dpo_heldout.jsonl"), "judge": {"rules": RULES},
            "max_prompts_per_round": 8, "max_heldout": 2, "lora": SMALL_LORA,
            "optim": {"max_steps": 2, "batch_size": 4}, "generation": SHORT, "heldout_generation": GREEDY,
        },
        "rs": {
            "scenarios": {"from": "synth"}, "heldout": str(d / "rs_heldout.jsonl"), "judge": {"rules": RULES},
            "max_scenarios": 2, "rollouts_per_scenario": 2, "max_turns": 3, "late_turn": 2, "max_heldout": 1,
            "lora": SMALL_LORA, "optim": {"max_steps": 2, "batch_size": 2}, "generation": SHORT, "heldout_generation": GREEDY,
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def synth_run(demo_data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("synth_pipeline") / "run"
    raw = _raw(demo_data, run_dir)
    outcomes = run_pipeline(validate_pipeline_config(raw))
    return run_dir, raw, outcomes


def test_every_stage_ran_in_order(synth_run):
    _, _, outcomes = synth_run
    assert [(o.stage, o.action) for o in outcomes] == [(s, "ran") for s in ("base", "curate", "synth", "sft", "dpo", "rs")]


def test_synth_writes_exactly_its_artifacts_with_counts(synth_run):
    run_dir, _, _ = synth_run
    assert sorted(p.name for p in (run_dir / "synth").iterdir()) == [
        "dpo_prompts.jsonl", "manifest.json", "provenance.jsonl", "rs_scenarios.jsonl", "sft.jsonl",
    ]  # fmt: skip
    manifest = read_manifest(run_dir / "synth")
    assert manifest["inputs"]["documents"]["from_stage"] == "curate"
    assert {k for k in manifest["inputs"] if k.startswith("quality.heldout")} == {f"quality.heldout[{i}]" for i in range(3)}
    metrics = manifest["metrics"]
    assert metrics["sft_rows"] > 0 and metrics["dpo_prompts"] > 0 and metrics["rs_scenarios"] > 0
    assert isinstance(metrics["dropped"], dict) and metrics["teacher"] == "template/v1"
    assert {k.split(":")[1] for k in metrics["rows_per_use_case"]} <= {"claims", "banking"}


def test_later_stages_trained_on_synth_rows(synth_run):
    run_dir, _, _ = synth_run
    synth_outputs = read_manifest(run_dir / "synth")["outputs"]
    for stage, name, output in (("sft", "train", "sft"), ("dpo", "prompts", "dpo_prompts"), ("rs", "scenarios", "rs_scenarios")):
        record = read_manifest(run_dir / stage)["inputs"][name]
        assert record["from_stage"] == "synth" and record["sha256"] == synth_outputs[output]["sha256"]
    prompts = {r["messages"][-1]["content"] for r in read_jsonl(run_dir / "synth" / "dpo_prompts.jsonl")}
    sampled = {r["prompt"][-1]["content"] for r in read_jsonl(run_dir / "dpo" / "samples.jsonl")}
    assert sampled and sampled <= prompts
    scenarios = {r["id"] for r in read_jsonl(run_dir / "synth" / "rs_scenarios.jsonl")}
    rolled = {d["scenario_id"] for d in read_jsonl(run_dir / "rs" / "dialogues.jsonl")}
    assert rolled and rolled <= scenarios
    by_use_case = read_manifest(run_dir / "dpo")["metrics"]["rounds"][0]["sampled_pass_rate_by_use_case"]
    assert by_use_case and set(by_use_case) <= {"claims", "banking"} and all(0 <= v <= 1 for v in by_use_case.values())
    kept_by_use_case = read_manifest(run_dir / "rs")["metrics"]["rounds"][0]["kept_by_use_case"]
    assert set(kept_by_use_case) <= {"claims", "banking"} and sum(kept_by_use_case.values()) > 0
    assert read_manifest(run_dir / "sft")["metrics"]["train_conversations"] == read_manifest(run_dir / "synth")["metrics"]["sft_rows"]


def test_a_rerun_skips_every_stage(synth_run):
    _, raw, _ = synth_run
    outcomes = run_pipeline(validate_pipeline_config(raw))
    assert all(o.action == "skipped" for o in outcomes)
