"""The tests' tiny model, built offline in one place: a byte-level BPE tokenizer with ChatML and a small Llama.

    model_dir = make_tiny_model_dir(tmp_path / "tiny")                    # the shared corpus and ARCH
    model_dir = make_tiny_model_dir(tmp_path / "tiny", texts=my_texts)     # a tokenizer fitted to other text

tests/conftest.py builds one per session (`tiny_model_dir`); load it with `steep.model.load.load_model` and
`load_tokenizer`, and never write into it (other tests read the same directory).
"""

from __future__ import annotations

from pathlib import Path

from steep.model.config import TinyArchitectureConfig

# two layers of width 32: a training step takes milliseconds on one CPU core
ARCH = TinyArchitectureConfig(vocab_size=320, hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2, max_position_embeddings=128)

# What the tokenizer learns its merges from: the policy, claim and branch text and the house-format chats the
# tests train and score on, so their text tokenizes into a few bytes a token.
TEXTS = (
    [f"Policy {i} covers water damage up to {i * 100} euros after a deductible of fifty." for i in range(60)]
    + [f"Claim {i} was settled within ten working days of the report." for i in range(40)]
    + [f"The branch in town {i} opens at nine and closes at five on weekdays." for i in range(40)]
    + [f"How long does claim {i} take? What is the deductible on policy {i}?" for i in range(40)]
    + [f"Answer: claim {i} settles in {i % 9 + 2} working days.\nSource: POL-{1000 + i}" for i in range(40)]
)


def make_tiny_model_dir(out_dir: Path, texts: list[str] = TEXTS, arch: TinyArchitectureConfig = ARCH, seed: int = 0) -> Path:
    """Build the tokenizer (on `texts`) and a randomly initialised model (`arch`), ensure the chat template, and
    save both with `save_pretrained` into `out_dir`; return `out_dir`."""
    from steep.model.template import ensure_chat_template
    from steep.model.tiny import build_tiny_model, build_tokenizer

    tokenizer = build_tokenizer(list(texts), arch.vocab_size)
    model = build_tiny_model(arch, tokenizer, seed=seed)
    ensure_chat_template(tokenizer, model)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
