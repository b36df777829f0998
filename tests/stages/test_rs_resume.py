"""A killed rs resumes without rolling out or judging its dialogues again: they are on disk before training.

The kill is an exception raised inside training (the process state is lost as with `kill -9`; what is on disk
survives); the rerun must read the judged dialogues back and only train.
"""

from __future__ import annotations

import pytest

import steep.tasks.dialogue as dialogue
import steep.trainer.core as trainer_core
from steep.artifacts import read_jsonl
from steep.pipeline.config import validate_pipeline_config
from steep.pipeline.runner import run_pipeline

pytestmark = pytest.mark.slow


class Killed(RuntimeError):
    pass


def test_rs_killed_in_training_reuses_its_judged_dialogues(demo_data, tmp_path, monkeypatch):
    d = demo_data
    raw = {
        "run_dir": str(tmp_path / "run"),
        "device": "cpu",
        "base": {"from_scratch": {
            "corpus": [str(d / "general.jsonl")], "seq_len": 64, "optim": {"max_steps": 3, "batch_size": 8},
            "architecture": {"vocab_size": 320, "hidden_size": 32, "intermediate_size": 64, "num_layers": 2, "num_heads": 2},
        }},
        "rs": {
            "scenarios": str(d / "rs_scenarios.jsonl"), "heldout": str(d / "rs_heldout.jsonl"),
            "judge": {"rules": [{"kind": "max_words", "name": "short", "max": 6}]},
            "max_scenarios": 2, "rollouts_per_scenario": 2, "max_turns": 2, "late_turn": 1, "max_heldout": 1,
            "lora": {"r": 4, "alpha": 8}, "optim": {"max_steps": 2, "batch_size": 2},
            "generation": {"max_new_tokens": 8}, "heldout_generation": {"max_new_tokens": 8},
        },
    }  # fmt: skip
    cfg = validate_pipeline_config(raw)
    real_train, real_roll_out = trainer_core.train_chats, dialogue.roll_out
    rollouts: list[int] = []

    def counting_roll_out(*args, **kwargs):
        rollouts.append(1)
        return real_roll_out(*args, **kwargs)

    def dying_train(*args, **kwargs):
        raise Killed("killed during training")

    monkeypatch.setattr(dialogue, "roll_out", counting_roll_out)
    monkeypatch.setattr(trainer_core, "train_chats", dying_train)
    with pytest.raises(Killed):
        run_pipeline(cfg)
    assert len(rollouts) == 2  # held-out "before", then the training rollouts
    judged = read_jsonl(tmp_path / "run" / "rs.partial" / "dialogues.jsonl")

    rollouts.clear()
    monkeypatch.setattr(trainer_core, "train_chats", real_train)
    run_pipeline(cfg)
    assert len(rollouts) == 1  # only the held-out "after": nothing rolled out or judged again
    assert read_jsonl(tmp_path / "run" / "rs" / "dialogues.jsonl") == judged


def test_rs_rounds_pool_keepers_and_resume_in_the_second_round(demo_data, tmp_path, monkeypatch):
    """Two rounds: round 2 rolls out from round 1's model, trains on both rounds' keepers; a kill in round 2's
    training reruns neither round's rollouts nor round 1's training."""
    d = demo_data
    raw = {
        "run_dir": str(tmp_path / "run"),
        "device": "cpu",
        "base": {"from_scratch": {
            "corpus": [str(d / "general.jsonl")], "seq_len": 64, "optim": {"max_steps": 3, "batch_size": 8},
            "architecture": {"vocab_size": 320, "hidden_size": 32, "intermediate_size": 64, "num_layers": 2, "num_heads": 2},
        }},
        "rs": {
            "scenarios": str(d / "rs_scenarios.jsonl"), "heldout": str(d / "rs_heldout.jsonl"),
            "judge": {"rules": [{"kind": "max_words", "name": "short", "max": 6}]},
            "max_scenarios": 2, "rollouts_per_scenario": 3, "rounds": 2, "keep": "top_fraction", "keep_fraction": 0.5,
            "near_duplicate_jaccard": 1.0, "max_turns": 2, "late_turn": 1, "max_heldout": 1,
            "lora": {"r": 4, "alpha": 8}, "optim": {"max_steps": 2, "batch_size": 2},
            "generation": {"max_new_tokens": 8}, "heldout_generation": {"max_new_tokens": 8},
        },
    }  # fmt: skip
    cfg = validate_pipeline_config(raw)
    real_train, real_roll_out = trainer_core.train_chats, dialogue.roll_out
    rollouts: list[int] = []
    trained: list[int] = []

    def counting_roll_out(*args, **kwargs):
        rollouts.append(1)
        return real_roll_out(*args, **kwargs)

    def train_then_die_in_round_2(model, tokenizer, conversations, **kwargs):
        trained.append(len(conversations))
        if len(trained) == 2:
            raise Killed("killed in round 2's training")
        return real_train(model, tokenizer, conversations, **kwargs)

    monkeypatch.setattr(dialogue, "roll_out", counting_roll_out)
    monkeypatch.setattr(trainer_core, "train_chats", train_then_die_in_round_2)
    with pytest.raises(Killed):
        run_pipeline(cfg)
    assert len(rollouts) == 3  # held-out before, round 1, round 2
    assert trained[0] < trained[1]  # round 2 trains on round 1's keepers and its own

    rollouts.clear()
    trained.clear()
    monkeypatch.setattr(trainer_core, "train_chats", lambda *a, **k: (trained.append(len(a[2])), real_train(*a, **k))[1])
    run_pipeline(cfg)
    assert len(rollouts) == 1 and len(trained) == 1  # only round 2's training and the held-out "after"
    dialogues = read_jsonl(tmp_path / "run" / "rs" / "dialogues.jsonl")
    kept = read_jsonl(tmp_path / "run" / "rs" / "kept.jsonl")
    assert {d["round"] for d in dialogues} == {1, 2} and len(dialogues) == 12
    assert {d["round"] for d in kept} == {1, 2} and len(kept) == trained[0] == 8  # ceil(0.5 * 3) x 2 scenarios x 2 rounds
    assert all(d["kept"] for d in kept) and sum(d["kept"] for d in dialogues) == len(kept)
    from steep.artifacts import read_manifest

    metrics = read_manifest(tmp_path / "run" / "rs")["metrics"]
    assert metrics["dialogues"] == 12 and metrics["kept"] == 8 and [r["kept"] for r in metrics["rounds"]] == [4, 4]
    assert "fact_recall_late_before" in metrics and "tied_scenarios" in metrics and metrics["scenarios_without_keeper"] == []
