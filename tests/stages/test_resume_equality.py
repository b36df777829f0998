"""A training stage killed mid-epoch resumes from its last checkpoint and ends where an uninterrupted run ends.

Both paths steep trains through are covered: LoRA on chats (sft, rs) and packed text (base, cpt). The kill is an
exception raised from a trainer callback after a checkpoint was written and before the next one: the process
state is lost exactly as with `kill -9`, only the checkpoint directory survives.

Tolerance: the resumed run restores weights, optimizer, scheduler, RNG states and the data position, so on CPU
in fp32 it should repeat the uninterrupted run's arithmetic; we allow 1e-4 relative on the final held-out loss
and 1e-4 absolute on the weights for kernels that do not promise bit-identical results.
"""

from __future__ import annotations

import pytest
import torch
from transformers import TrainerCallback

from steep.config import LoraConfig, OptimConfig, TinyArchitectureConfig
from steep.train import lm, sft
from steep.train.base import build_tiny_model, build_tokenizer
from steep.train.common import ensure_chat_template, load_model

CHATS = [
    [
        {"role": "user", "content": f"How long does claim {i} take?"},
        {"role": "assistant", "content": f"Answer: claim {i} settles in {i % 9 + 2} working days.\nSource: POL-{1000 + i}"},
    ]
    for i in range(48)
]
TEXTS = [f"Policy {i} covers water damage up to {i * 100} euros after a deductible of fifty." for i in range(120)]
ARCH = TinyArchitectureConfig(vocab_size=320, hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2, max_position_embeddings=128)
KILL_AT_STEP = 7  # checkpoints at steps 4 and 8: the run dies between them and must redo steps 5-7
OPTIM = OptimConfig(learning_rate=3e-3, batch_size=4, max_steps=12, checkpoint_steps=4, warmup_ratio=0.1)


class Killed(RuntimeError):
    pass


class _KillAt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == KILL_AT_STEP:
            raise Killed(f"killed at step {state.global_step}")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    texts = TEXTS + [m["content"] for chat in CHATS for m in chat]
    tokenizer = build_tokenizer(texts, ARCH.vocab_size)
    model = build_tiny_model(ARCH, tokenizer, seed=0)
    ensure_chat_template(tokenizer, model)
    out = tmp_path_factory.mktemp("tiny")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _fresh(tiny_dir):
    from steep.train.common import load_tokenizer

    return load_model(str(tiny_dir), "cpu"), load_tokenizer(str(tiny_dir))


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


def _kill_then_resume(monkeypatch, module, train):
    """Run `train()` with a kill at KILL_AT_STEP, then again with no kill: the second run must resume from the
    checkpoint at step 4 (not start over, not skip to the end)."""
    real_progress = module.compact_progress
    with monkeypatch.context() as patch:
        patch.setattr(module, "compact_progress", lambda trainer: (real_progress(trainer), trainer.add_callback(_KillAt())))
        with pytest.raises(Killed):
            train()
    counter = _CountSteps()
    with monkeypatch.context() as patch:
        patch.setattr(module, "compact_progress", lambda trainer: (real_progress(trainer), trainer.add_callback(counter)))
        result = train()
    assert counter.steps == list(range(5, OPTIM.max_steps + 1))
    return result


def _assert_same(resumed_model, straight_model, tokenizer):
    straight, resumed = _heldout_loss(straight_model, tokenizer), _heldout_loss(resumed_model, tokenizer)
    assert resumed == pytest.approx(straight, rel=1e-4)
    for (name, a), (_, b) in zip(straight_model.named_parameters(), resumed_model.named_parameters()):
        torch.testing.assert_close(b, a, atol=1e-4, rtol=0, msg=lambda m, name=name: f"{name}: {m}")


def test_lora_sft_resumes_to_the_same_model(tiny_dir, tmp_path, monkeypatch):
    lora = LoraConfig(r=4, alpha=8)

    def train_in(work_dir):
        def train():
            model, tokenizer = _fresh(tiny_dir)
            return sft.train_lora_on_chats(model, tokenizer, CHATS, lora=lora, optim=OPTIM, max_length=64, work_dir=work_dir, seed=0, device="cpu")

        return train

    straight, _ = train_in(tmp_path / "straight")()
    resumed, metrics = _kill_then_resume(monkeypatch, sft, train_in(tmp_path / "killed"))

    assert sorted(p.name for p in (tmp_path / "killed" / "checkpoints").glob("checkpoint-*")) == ["checkpoint-12"]
    assert metrics["train_loss_final"] is not None
    _assert_same(resumed, straight, _fresh(tiny_dir)[1])


def test_packed_text_training_resumes_to_the_same_model(tiny_dir, tmp_path, monkeypatch):
    def train_in(work_dir):
        def train():
            model, tokenizer = _fresh(tiny_dir)
            lm.train_on_text(model, tokenizer, TEXTS, seq_len=64, optim=OPTIM, work_dir=work_dir, seed=0, device="cpu")
            return model

        return train

    straight = train_in(tmp_path / "straight")()
    resumed = _kill_then_resume(monkeypatch, lm, train_in(tmp_path / "killed"))

    _assert_same(resumed, straight, _fresh(tiny_dir)[1])
