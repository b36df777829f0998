"""The one loading path for every base-model source, the chat template round trip, and held-out bits per byte,
on a tiny model built offline (`tests/tiny.py`)."""

from __future__ import annotations

import math
import types

import pytest
import torch

from steep.model.load import ModelLoadError, load_model, load_tokenizer
from steep.model.template import (
    CHATML_SPECIAL_TOKENS,
    CHATML_TEMPLATE,
    ChatTemplateError,
    chat_template_sha256,
    check_chat_template,
    ensure_chat_template,
)
from steep.tasks.bpb import model_bits_per_byte
from tests.tiny import ARCH, TEXTS


def test_local_directory_loads_through_the_shared_path(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    model = load_model(str(tiny_model_dir), "cpu")
    assert tokenizer.chat_template == CHATML_TEMPLATE
    assert model.config.vocab_size == len(tokenizer)
    ids = tokenizer("The branch opens", return_tensors="pt").input_ids
    assert model(ids).logits.shape[-1] == len(tokenizer)


def test_tokenizer_round_trips_any_text(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    for text in ("Zürich — 5 % off: ünïcödé ✓", "POL-1042\nSource: x"):
        assert tokenizer.decode(tokenizer(text, add_special_tokens=False).input_ids) == text


def test_hub_id_offline_fails_naming_the_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as caught:
        load_tokenizer("some-org/not-on-this-machine")
    assert "'some-org/not-on-this-machine' as a hub id" in str(caught.value)


def test_chat_template_round_trip_passes_for_chatml(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    assert check_chat_template(tokenizer) == chat_template_sha256(tokenizer)


def test_template_without_generation_markers_passes_the_round_trip(tiny_model_dir):
    """Real models' templates have no `{% generation %}` markers; the mask is found instead (steep.model.chat_mask)."""
    tokenizer = load_tokenizer(str(tiny_model_dir))
    tokenizer.chat_template = CHATML_TEMPLATE.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    assert check_chat_template(tokenizer) == chat_template_sha256(tokenizer)


def test_template_that_drops_the_end_of_turn_token_from_the_mask_is_rejected(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    tokenizer.chat_template = CHATML_TEMPLATE.replace("{{ message['content'] + '<|im_end|>' }}{% endgeneration %}", "{{ message['content'] }}{% endgeneration %}{{ '<|im_end|>' }}")
    with pytest.raises(ChatTemplateError, match="end-of-turn"):
        check_chat_template(tokenizer)


def test_template_whose_mask_covers_the_user_is_rejected(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    tokenizer.chat_template = (
        "{% for m in messages %}{% generation %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
        "{% endgeneration %}{% endfor %}"
    )
    with pytest.raises(ChatTemplateError, match="non-assistant"):
        check_chat_template(tokenizer)


def _tokenizer_without_chatml():
    """A byte-level BPE tokenizer with no chat template and no ChatML tokens, as many base checkpoints ship."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=ARCH.vocab_size, special_tokens=["<pad>", "<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    core.train_from_iterator(TEXTS, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def test_missing_template_gets_chatml_and_embeddings_grow():
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _tokenizer_without_chatml()
    assert not tokenizer.chat_template and not set(CHATML_SPECIAL_TOKENS) & set(tokenizer.get_vocab())
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(vocab_size=len(tokenizer), hidden_size=ARCH.hidden_size, intermediate_size=ARCH.intermediate_size,
                    num_hidden_layers=1, num_attention_heads=ARCH.num_heads, max_position_embeddings=ARCH.max_position_embeddings)
    )  # fmt: skip
    old_rows = len(tokenizer)
    old_embeddings = model.get_input_embeddings().weight.detach().clone()

    assert ensure_chat_template(tokenizer, model) is True

    assert tokenizer.chat_template == CHATML_TEMPLATE
    assert len(tokenizer) == old_rows + len(CHATML_SPECIAL_TOKENS)
    embeddings = model.get_input_embeddings().weight
    assert embeddings.shape[0] == len(tokenizer)  # the matrix grew to the tokenizer
    assert model.get_output_embeddings().weight.shape[0] == len(tokenizer)
    torch.testing.assert_close(embeddings[:old_rows], old_embeddings)  # existing rows kept as they were
    new_ids = tokenizer.convert_tokens_to_ids(list(CHATML_SPECIAL_TOKENS))
    assert sorted(new_ids) == list(range(old_rows, len(tokenizer)))  # the new tokens own the new rows
    assert torch.isfinite(embeddings[old_rows:]).all()
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, return_tensors="pt", return_dict=True)
    assert model(input_ids=ids["input_ids"]).logits.shape[-1] == len(tokenizer)  # the template's tokens embed

    assert ensure_chat_template(tokenizer, model) is False  # already there: nothing changes
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)


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
    assert model_bits_per_byte(Uniform(), Tok(), texts, seq_len=16, device="cpu") == pytest.approx(expected)
