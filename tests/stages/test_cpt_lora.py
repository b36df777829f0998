"""cpt with `cpt.lora`: a LoRA adapter trained on packed text lowers the text's bits per byte, touches only the
adapter, and merges into a plain model that computes the same thing."""

from __future__ import annotations

import torch

from steep.model.config import LoraConfig
from steep.model.export import merge_with_parity_check
from steep.model.load import load_model, load_tokenizer
from steep.model.lora import trainable_parameters
from steep.tasks.bpb import model_bits_per_byte
from steep.trainer.config import OptimConfig
from steep.trainer.core import TrainPlace, train_text

TEXTS = [f"Kestrel policy {i} covers storm damage to the roof, less a deductible of {i % 7 + 1}00 euros." for i in range(80)]


def test_lora_cpt_learns_the_text_and_merges(tiny_model_dir, tmp_path):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    model = load_model(str(tiny_model_dir), "cpu")
    frozen = {k: v.detach().clone() for k, v in model.named_parameters()}
    before = model_bits_per_byte(model, tokenizer, TEXTS[:16], seq_len=64, device="cpu")

    (tmp_path / "work").mkdir()
    place = TrainPlace(tmp_path / "work" / "checkpoints", tmp_path / "work" / "metrics.jsonl", seed=0, device="cpu")
    peft_model, summary = train_text(
        model, tokenizer, TEXTS, seq_len=64, lora=LoraConfig(r=8, alpha=16),
        optim=OptimConfig(learning_rate=1e-2, batch_size=8, max_steps=100, checkpoint_steps=0), place=place,
    )  # fmt: skip
    after = model_bits_per_byte(peft_model, tokenizer, TEXTS[:16], seq_len=64, device="cpu")

    # an adapter alone on a randomly initialised model learns slowly (embeddings and the tied head stay frozen):
    # measured 4.83 -> 4.48 bits per byte here, 0.93 of the start; a broken adapter path leaves it at 1.0
    assert after < 0.96 * before, (before, after)
    assert 0 < trainable_parameters(peft_model)["trainable_pct"] < 50
    base = peft_model.get_base_model()
    for name, param in base.named_parameters():
        if "lora_" not in name:  # every original weight is untouched; only the adapter learned
            torch.testing.assert_close(param, frozen[name.replace(".base_layer", "")])
    parity = merge_with_parity_check(peft_model, tokenizer, tmp_path / "model")
    assert parity["merge_parity_rel_diff"] < 1e-4
    assert summary["train_steps"] == 100 and summary["train_loss_final"] < summary["train_loss_first"]
    assert summary["train_runtime_s"] > 0
