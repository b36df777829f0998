"""The in-process engine: k samples share one prefill, prompts are batched shortest first, and every reply comes
back to the prompt it answers. Greedy decoding makes the expected text known: the shared-prefill path must give
exactly what plain `model.generate` gives on each prompt alone."""

from __future__ import annotations

import torch

from steep.generate.config import GenerationConfig
from steep.generate.hf import HFChatGenerator

CHATS = [
    [{"role": "user", "content": "How long does claim 7 take?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is the deductible on policy 12? Tell me everything about it please."}],
    [{"role": "user", "content": "Hi"}],
]


def _engine(tiny_model_dir):
    from steep.model.load import load_model, load_tokenizer

    return HFChatGenerator(load_model(tiny_model_dir, device="cpu"), load_tokenizer(tiny_model_dir), "cpu")


def _alone(engine: HFChatGenerator, chat, max_new_tokens: int) -> list[int]:
    """Plain `generate` on one unpadded prompt: the reference a batched, shared-prefill reply must equal."""
    prompt = torch.tensor([engine.render(chat)])
    out = engine.model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=max_new_tokens,
                                do_sample=False, eos_token_id=engine.stop_ids, pad_token_id=engine.stop_ids[0])  # fmt: skip
    new = out[0, prompt.shape[1] :].tolist()
    return new[: next((i for i, t in enumerate(new) if t in engine.stop_ids), len(new))]


def test_greedy_samples_share_a_prefill_and_equal_plain_generate_on_each_prompt(tiny_model_dir):
    engine = _engine(tiny_model_dir)
    greedy = GenerationConfig(max_new_tokens=12, temperature=0.0, batch_size=4)  # 4 rows: 2 prompts of k=2 a batch
    groups = engine.sample(CHATS, 2, greedy, seed=0)
    assert [len(g) for g in groups] == [2, 2, 2]
    for chat, group in zip(CHATS, groups):
        expected = engine.tokenizer.decode(_alone(engine, chat, 12), skip_special_tokens=True).strip()
        assert [reply.text for reply in group] == [expected, expected]
        assert group[0].prompt_tokens == len(engine.render(chat))
    assert [g[0].text for g in groups] == [r.text for r in engine.generate_chat(CHATS, greedy, seed=0)]


def test_sampled_replies_vary_within_a_group_and_repeat_with_the_seed(tiny_model_dir):
    engine = _engine(tiny_model_dir)
    hot = GenerationConfig(max_new_tokens=12, temperature=1.0, batch_size=16)
    first = engine.sample(CHATS, 4, hot, seed=3)
    again = engine.sample(CHATS, 4, hot, seed=3)
    assert [[r.text for r in g] for g in first] == [[r.text for r in g] for g in again]
    assert any(len({r.text for r in group}) > 1 for group in first)
    assert all(0 <= r.completion_tokens <= 12 and r.finish_reason in ("stop", "length") for g in first for r in g)


def test_a_prefix_starts_the_reply_and_the_model_continues_it(tiny_model_dir):
    """rs's hints: a reply prefix goes after the generation prompt; the text returned is only the continuation,
    and it is exactly what the model writes after prompt + prefix."""
    engine = _engine(tiny_model_dir)
    greedy = GenerationConfig(max_new_tokens=8, temperature=0.0, batch_size=8)
    prefix = "Answer: For case CASE-12345:"
    assert engine.render(CHATS[0], prefix)[: len(engine.render(CHATS[0]))] == engine.render(CHATS[0])
    with_prefix, plain = engine.generate_chat(CHATS[:2], greedy, seed=0, prefixes=[prefix, None])
    ids = torch.tensor([engine.render(CHATS[0], prefix)])
    out = engine.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=8, do_sample=False,
                                eos_token_id=engine.stop_ids, pad_token_id=engine.stop_ids[0])  # fmt: skip
    new = out[0, ids.shape[1] :].tolist()
    new = new[: next((i for i, t in enumerate(new) if t in engine.stop_ids), len(new))]
    assert with_prefix.text == engine.tokenizer.decode(new, skip_special_tokens=True).strip()
    assert plain.text == engine.generate_chat(CHATS[1:2], greedy, seed=0)[0].text
