"""The one loading path for every base-model source, the chat template round trip, and held-out bits per byte,
on a tiny model built offline in the test."""

from __future__ import annotations

import math
import types

import pytest
import torch

from steep.config import TinyArchitectureConfig
from steep.train.base import build_tiny_model, build_tokenizer
from steep.train.common import (
    CHATML_TEMPLATE,
    ChatTemplateError,
    ModelLoadError,
    bits_per_byte,
    chat_template_sha256,
    check_chat_template,
    ensure_chat_template,
    load_model,
    load_tokenizer,
)

TEXTS = [f"The branch in town {i} opens at nine and closes at five on weekdays." for i in range(60)]
ARCH = TinyArchitectureConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, max_position_embeddings=128)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    tokenizer = build_tokenizer(TEXTS, ARCH.vocab_size)
    model = build_tiny_model(ARCH, tokenizer, seed=0)
    out = tmp_path_factory.mktemp("tiny")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_local_directory_loads_through_the_shared_path(tiny_dir):
    tokenizer = load_tokenizer(str(tiny_dir))
    model = load_model(str(tiny_dir), "cpu")
    assert tokenizer.chat_template == CHATML_TEMPLATE
    assert model.config.vocab_size == len(tokenizer)
    ids = tokenizer("The branch opens", return_tensors="pt").input_ids
    assert model(ids).logits.shape[-1] == len(tokenizer)


def test_tokenizer_round_trips_any_text(tiny_dir):
    tokenizer = load_tokenizer(str(tiny_dir))
    for text in ("Zürich — 5 % off: ünïcödé ✓", "POL-1042\nSource: x"):
        assert tokenizer.decode(tokenizer(text, add_special_tokens=False).input_ids) == text


def test_hub_id_offline_fails_naming_the_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as caught:
        load_tokenizer("some-org/not-on-this-machine")
    assert "'some-org/not-on-this-machine' as a hub id" in str(caught.value)


def test_chat_template_round_trip_passes_for_chatml(tiny_dir):
    tokenizer = load_tokenizer(str(tiny_dir))
    assert check_chat_template(tokenizer) == chat_template_sha256(tokenizer)


def test_template_without_generation_markers_is_rejected(tiny_dir):
    tokenizer = load_tokenizer(str(tiny_dir))
    tokenizer.chat_template = CHATML_TEMPLATE.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    with pytest.raises(ChatTemplateError, match="generation"):
        check_chat_template(tokenizer)


def test_template_whose_mask_covers_the_user_is_rejected(tiny_dir):
    tokenizer = load_tokenizer(str(tiny_dir))
    tokenizer.chat_template = (
        "{% for m in messages %}{% generation %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
        "{% endgeneration %}{% endfor %}"
    )
    with pytest.raises(ChatTemplateError, match="non-assistant"):
        check_chat_template(tokenizer)


def test_missing_template_gets_chatml_and_embeddings_grow(tiny_dir):
    tokenizer = load_tokenizer(str(tiny_dir))
    model = load_model(str(tiny_dir), "cpu")
    tokenizer.chat_template = None
    assert ensure_chat_template(tokenizer, model) is True
    assert tokenizer.chat_template == CHATML_TEMPLATE
    assert ensure_chat_template(tokenizer, model) is False


def test_bits_per_byte_matches_the_arithmetic():
    """A model whose logits are all zero predicts uniformly: each scored token costs ln(V) nats."""
    vocab = 50

    class Uniform(torch.nn.Module):
        def forward(self, input_ids, attention_mask=None):
            return types.SimpleNamespace(logits=torch.zeros(*input_ids.shape, vocab))

    class Tok:
        pad_token_id = 0

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [ord(c) % vocab for c in text]}

    texts = ["abcdefgh", "xyz"]
    scored_tokens = (8 - 1) + (3 - 1)
    expected = scored_tokens * math.log(vocab) / math.log(2) / sum(len(t) for t in texts)
    assert bits_per_byte(Uniform(), Tok(), texts, seq_len=16, device="cpu") == pytest.approx(expected)
