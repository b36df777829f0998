"""cpt with `cpt.lora`: a LoRA adapter trained on packed text lowers the text's bits per byte, touches only the
adapter, and merges into a plain model that computes the same thing."""

from __future__ import annotations

import torch

from steep.config import LoraConfig, OptimConfig, TinyArchitectureConfig
from steep.train.base import build_tiny_model, build_tokenizer
from steep.train.common import bits_per_byte, trainable_parameters
from steep.train.export import merge_with_parity_check
from steep.train.lm import train_lora_on_text

TEXTS = [f"Kestrel policy {i} covers storm damage to the roof, less a deductible of {i % 7 + 1}00 euros." for i in range(80)]
ARCH = TinyArchitectureConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2, max_position_embeddings=128)


def test_lora_cpt_learns_the_text_and_merges(tmp_path):
    tokenizer = build_tokenizer(TEXTS, ARCH.vocab_size)
    model = build_tiny_model(ARCH, tokenizer, seed=0)
    frozen = {k: v.detach().clone() for k, v in model.named_parameters()}
    before = bits_per_byte(model, tokenizer, TEXTS[:16], seq_len=64, device="cpu")

    peft_model, metrics = train_lora_on_text(
        model, tokenizer, TEXTS, lora=LoraConfig(r=8, alpha=16), seq_len=64,
        optim=OptimConfig(learning_rate=1e-2, batch_size=8, max_steps=30, checkpoint_steps=0),
        work_dir=tmp_path / "work", seed=0, device="cpu",
    )  # fmt: skip
    after = bits_per_byte(peft_model, tokenizer, TEXTS[:16], seq_len=64, device="cpu")

    assert after < before - 0.3, (before, after)
    assert 0 < trainable_parameters(peft_model)["trainable_pct"] < 50
    base = peft_model.get_base_model()
    for name, param in base.named_parameters():
        if "lora_" not in name:  # every original weight is untouched; only the adapter learned
            torch.testing.assert_close(param, frozen[name.replace(".base_layer", "")])
    parity = merge_with_parity_check(peft_model, tokenizer, tmp_path / "model")
    assert parity["merge_parity_rel_diff"] < 1e-4
    assert metrics["train_runtime"] > 0
