"""A training stage killed mid-epoch resumes from its last checkpoint and ends where an uninterrupted run ends.

Both paths steep trains through are covered: LoRA on chats (sft, rs) and packed text (base, cpt). The kill is an
exception raised from a trainer callback after a checkpoint was written and before the next one: the process
state is lost exactly as with `kill -9`, only the checkpoint directory survives.

Tolerance: the resumed run restores weights, optimizer, scheduler, RNG states and the data position, so on CPU
in fp32 it should repeat the uninterrupted run's arithmetic; we allow 1e-4 relative on the final held-out loss
and 1e-4 absolute on the weights for kernels that do not promise bit-identical results.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from steep.model.config import LoraConfig
from steep.model.load import load_model, load_tokenizer
from steep.trainer import core
from steep.trainer.config import OptimConfig
from steep.trainer.core import TrainPlace, train_chats, train_text
from tests.tiny import TEXTS as TOKENIZER_TEXTS

CHATS = [
    [
        {"role": "user", "content": f"How long does claim {i} take?"},
        {"role": "assistant", "content": f"Answer: claim {i} settles in {i % 9 + 2} working days.\nSource: POL-{1000 + i}"},
    ]
    for i in range(48)
]
TEXTS = [t for t in TOKENIZER_TEXTS if t.startswith("Policy ")]
KILL_AT_STEP = 7  # checkpoints at steps 4 and 8: the run dies between them and must redo steps 5-7
OPTIM = OptimConfig(learning_rate=3e-3, batch_size=4, max_steps=12, checkpoint_steps=4, warmup_ratio=0.1)


class Killed(RuntimeError):
    pass


class _KillAt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == KILL_AT_STEP:
            raise Killed(f"killed at step {state.global_step}")


def _fresh(tiny_dir):
    return load_model(str(tiny_dir), "cpu"), load_tokenizer(str(tiny_dir))


def _place(work_dir: Path) -> TrainPlace:
    work_dir.mkdir(parents=True, exist_ok=True)
    return TrainPlace(work_dir / "checkpoints", work_dir / "metrics.jsonl", seed=0, device="cpu")


def _heldout_loss(model, tokenizer) -> float:
    batch = tokenizer([t.upper() for t in TEXTS[:8]], return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    model.eval()
    with torch.no_grad():
        return model(**batch, labels=labels).loss.item()


class _CountSteps(TrainerCallback):
    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append(state.global_step)


def _kill_then_resume(monkeypatch, train, work_dir: Path):
    """Run `train()` with a kill at KILL_AT_STEP, then again with no kill: the second run must resume from the
    checkpoint at step 4 (not start over, not skip to the end), and the stage's curve must be the one run's."""
    real_fit = core.fit

    def fit_with(callback):
        def fit(trainer, place):
            trainer.add_callback(callback)
            return real_fit(trainer, place)

        return fit

    with monkeypatch.context() as patch:
        patch.setattr(core, "fit", fit_with(_KillAt()))
        with pytest.raises(Killed):
            train()
    counter = _CountSteps()
    with monkeypatch.context() as patch:
        patch.setattr(core, "fit", fit_with(counter))
        model, summary = train()
    assert counter.steps == list(range(5, OPTIM.max_steps + 1))
    assert summary["resumed_from_step"] == 4 and summary["train_steps"] == OPTIM.max_steps
    # rows the killed attempt logged after its last checkpoint (steps 5-7) are dropped: each step once
    rows = [json.loads(line) for line in (work_dir / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == list(range(1, OPTIM.max_steps + 1))
    return model, summary


def _assert_same(resumed_model, straight_model, tokenizer):
    straight, resumed = _heldout_loss(straight_model, tokenizer), _heldout_loss(resumed_model, tokenizer)
    assert resumed == pytest.approx(straight, rel=1e-4)
    for (name, a), (_, b) in zip(straight_model.named_parameters(), resumed_model.named_parameters()):
        torch.testing.assert_close(b, a, atol=1e-4, rtol=0, msg=lambda m, name=name: f"{name}: {m}")


def test_lora_sft_resumes_to_the_same_model(tiny_model_dir, tmp_path, monkeypatch):
    lora = LoraConfig(r=4, alpha=8)

    def train_in(work_dir):
        def train():
            model, tokenizer = _fresh(tiny_model_dir)
            return train_chats(model, tokenizer, CHATS, lora=lora, optim=OPTIM, max_length=64, place=_place(work_dir))

        return train

    straight, _ = train_in(tmp_path / "straight")()
    resumed, summary = _kill_then_resume(monkeypatch, train_in(tmp_path / "killed"), tmp_path / "killed")

    assert sorted(p.name for p in (tmp_path / "killed" / "checkpoints").glob("checkpoint-*")) == ["checkpoint-12"]
    assert summary["train_loss_final"] is not None
    _assert_same(resumed, straight, _fresh(tiny_model_dir)[1])


def test_packed_text_training_resumes_to_the_same_model(tiny_model_dir, tmp_path, monkeypatch):
    def train_in(work_dir):
        def train():
            model, tokenizer = _fresh(tiny_model_dir)
            return train_text(model, tokenizer, TEXTS, seq_len=64, optim=OPTIM, place=_place(work_dir))

        return train

    straight, _ = train_in(tmp_path / "straight")()
    resumed, _ = _kill_then_resume(monkeypatch, train_in(tmp_path / "killed"), tmp_path / "killed")

    _assert_same(resumed, straight, _fresh(tiny_model_dir)[1])
