"""A pipeline of only base, curate, cpt and sft runs for real (tiny model, demo data at test scale), and every
training stage leaves its loss curve and its throughput and memory in the manifest.
"""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from steep.artifacts import read_jsonl, read_manifest
from steep.pipeline.config import validate_pipeline_config
from steep.pipeline.runner import run_pipeline

pytestmark = pytest.mark.slow
TRAINING_STAGES = ("base", "cpt", "sft")


@pytest.fixture(scope="module")
def small_run(demo_data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("small") / "run"
    d = demo_data
    raw = {
        "run_dir": str(run_dir),
        "device": "cpu",
        "base": {"from_scratch": {
            "corpus": [str(d / "general.jsonl")],
            "architecture": {"vocab_size": 320, "hidden_size": 32, "intermediate_size": 64, "num_layers": 2, "num_heads": 2},
            "seq_len": 64, "optim": {"max_steps": 6, "batch_size": 8, "logging_steps": 1},
        }},
        "curate": {"inputs": [str(d / "lake.jsonl")], "compliance": {"terms": ["Project Bluefin"]}},
        "cpt": {
            "seq_len": 64, "heldout": {"domain": [str(d / "domain_heldout.jsonl")], "general": [str(d / "general_heldout.jsonl")], "max_docs": 5},
            "optim": {"max_steps": 5, "batch_size": 8, "checkpoint_steps": 2},
        },
        "sft": {
            "train": str(d / "sft_train.jsonl"), "heldout": str(d / "sft_heldout.jsonl"), "format_pattern": r"Answer: .+", "max_heldout": 3,
            "lora": {"r": 4, "alpha": 8}, "optim": {"max_steps": 4, "batch_size": 4, "logging_steps": 2},
            "generation": {"max_new_tokens": 8, "temperature": 0.0},
        },
    }  # fmt: skip
    outcomes = run_pipeline(validate_pipeline_config(raw))
    return run_dir, outcomes


def test_only_the_four_stages_ran(small_run):
    run_dir, outcomes = small_run
    assert [o.stage for o in outcomes] == ["base", "curate", "cpt", "sft"]
    assert sorted(p.name for p in run_dir.iterdir()) == [".lock", "base", "cpt", "curate", "run.log", "sft"]


def test_sft_writes_exactly_its_artifacts(small_run):
    run_dir, _ = small_run
    written = sorted(p.name for p in (run_dir / "sft").iterdir())
    assert written == ["adapter", "chat_template.jinja", "heldout_answers.jsonl", "manifest.json", "metrics.jsonl", "model"]
    assert set(read_manifest(run_dir / "sft")["outputs"]) == {"adapter", "model", "chat_template"}


@pytest.mark.parametrize("stage,steps,every", [("base", 6, 1), ("cpt", 5, 1), ("sft", 4, 2)])
def test_every_training_stage_leaves_its_loss_curve(small_run, stage, steps, every):
    run_dir, _ = small_run
    curve = read_jsonl(run_dir / stage / "metrics.jsonl")
    assert [row["step"] for row in curve] == list(range(every, steps + 1, every))
    assert all(row["loss"] > 0 and row["learning_rate"] is not None and row["tokens_seen"] > 0 for row in curve)
    assert [row["tokens_seen"] for row in curve] == sorted(row["tokens_seen"] for row in curve)


@pytest.mark.parametrize("stage", TRAINING_STAGES)
def test_manifest_has_tokens_throughput_and_peak_memory(small_run, stage):
    run_dir, _ = small_run
    metrics = read_manifest(run_dir / stage)["metrics"]
    assert metrics["train_tokens"] > 0 and metrics["train_tokens_per_s"] > 0
    assert metrics["peak_memory_bytes"] > 10_000_000 and metrics["peak_memory_kind"] == "process_rss"
    assert metrics["train_loss_final"] is not None


def test_each_training_stage_changed_the_weights(small_run):
    run_dir, _ = small_run
    weights = {stage: load_file(str(run_dir / stage / "model" / "model.safetensors")) for stage in TRAINING_STAGES}
    for earlier, later in (("base", "cpt"), ("cpt", "sft")):
        changed = [name for name, tensor in weights[later].items() if not tensor.equal(weights[earlier][name])]
        assert changed, f"{later} left every weight of {earlier}'s model as it was"


def test_cpt_checkpoints_are_gone_once_complete_and_its_input_is_curates_output(small_run):
    run_dir, _ = small_run
    assert not (run_dir / "cpt" / "checkpoints").exists()
    inputs = read_manifest(run_dir / "cpt")["inputs"]
    assert inputs["documents"]["from_stage"] == "curate" and inputs["model"]["from_stage"] == "base"


def test_run_log_holds_every_stage_and_curates_own_lines(small_run):
    run_dir, _ = small_run
    log = (run_dir / "run.log").read_text(encoding="utf-8")
    assert "steep.curate.stage: curate: " in log and " in, " in log  # curate's summary, logged by the curate package
    for stage in ("base", "curate", "cpt", "sft"):
        assert f"steep.{stage}: done in" in log
    assert "steep.sft: format adherence before" in log
