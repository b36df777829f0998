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
