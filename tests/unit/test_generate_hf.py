"""The in-process engine: k samples share one prefill, prompts are batched shortest first, and every reply comes
back to the prompt it answers. Greedy decoding makes the expected text known: the shared-prefill path must give
exactly what plain `model.generate` gives on each prompt alone."""

from __future__ import annotations

import pytest
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


def _left_padded(engine: HFChatGenerator, chats) -> tuple[torch.Tensor, torch.Tensor]:
    prompts = [engine.render(chat) for chat in chats]
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[engine.pad_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def test_the_static_cache_gives_the_dynamic_caches_greedy_token_ids_with_left_padding_and_shared_prefills(tiny_model_dir):
    """Prompts of different lengths in one left-padded batch, k=3 rows each sharing the prompt's prefill: the
    static cache (preallocated, prefill copied into k rows) writes exactly the tokens the dynamic one does, and
    those equal plain `generate` on each prompt alone."""
    from dataclasses import replace

    from steep.generate.decode import decode

    engine = _engine(tiny_model_dir)
    ids, mask = _left_padded(engine, CHATS)
    assert len(set(mask.sum(-1).tolist())) == 3  # three different prompt lengths
    plan = replace(engine.plan, max_new_tokens=16, temperature=0.0, top_p=1.0)
    with torch.no_grad():
        dynamic = decode(engine.model, ids, mask, 3, replace(plan, cache="dynamic"))
        static = decode(engine.model, ids, mask, 3, replace(plan, cache="static"))
        bucketed = decode(engine.model, ids, mask, 3, replace(plan, cache="static", length_bucket=128))
    assert dynamic.shape == (9, 16)
    assert torch.equal(static, dynamic) and torch.equal(bucketed, dynamic)
    for row, chat in enumerate(CHATS):
        expected = _alone(engine, chat, 16)
        for sample in dynamic[row * 3 : row * 3 + 3].tolist():
            assert sample[: len(expected)] == expected


def test_rows_that_stop_leave_the_batch_and_the_others_write_the_same_tokens(tiny_model_dir):
    """A stop token that one prompt's greedy reply writes early: its rows stop (pad after), are dropped from the
    batch, and every other row writes what it writes with no row dropped, in either cache."""
    from dataclasses import replace

    from steep.generate.decode import decode

    engine = _engine(tiny_model_dir)
    ids, mask = _left_padded(engine, CHATS)
    plan = replace(engine.plan, max_new_tokens=16, temperature=0.0, top_p=1.0)
    with torch.no_grad():
        free = decode(engine.model, ids, mask, 2, replace(plan, stop_ids=[-1], drop_finished=False))
        stop = int(free[0, 2])
        plan = replace(plan, stop_ids=[stop])
        kept = decode(engine.model, ids, mask, 2, replace(plan, drop_finished=False))
        dropped = [decode(engine.model, ids, mask, 2, replace(plan, drop_finished=True, cache=cache)) for cache in ("dynamic", "static")]
        # the CUDA plans: "all stopped?" asked every 8 steps, full-sort top-p; compiled (rows kept, length bucketed)
        # or not (rows dropped, so the last rows to stop can leave before the check)
        cuda_like = [
            decode(engine.model, ids, mask, 2, replace(plan, cache="static", check_every=8, candidates=None, length_bucket=128, drop_finished=False)),
            decode(engine.model, ids, mask, 2, replace(plan, cache="static", check_every=8, candidates=None, drop_finished=True)),
        ]
    assert all(torch.equal(run, kept) for run in dropped + cuda_like)
    for row in range(6):
        written = free[row].tolist()
        end = written.index(stop) + 1 if stop in written else 16
        assert kept[row].tolist() == written[:end] + [engine.pad_id] * (16 - end)
    assert kept[0].tolist()[3:] == [engine.pad_id] * 13


def test_the_static_engine_repeats_with_the_seed_and_its_k_samples_vary(tiny_model_dir):
    from steep.model.load import load_model, load_tokenizer

    engine = HFChatGenerator(load_model(tiny_model_dir, device="cpu"), load_tokenizer(tiny_model_dir), "cpu", cache="static")
    assert engine.plan.cache == "static"
    hot = GenerationConfig(max_new_tokens=12, temperature=1.0, top_p=0.9, batch_size=6)
    first = engine.sample(CHATS, 3, hot, seed=5)
    assert [[r.text for r in g] for g in first] == [[r.text for r in g] for g in engine.sample(CHATS, 3, hot, seed=5)]
    assert [len(g) for g in first] == [3, 3, 3]
    assert any(len({r.text for r in group}) > 1 for group in first)
    greedy = GenerationConfig(max_new_tokens=12, temperature=0.0, batch_size=6)
    for chat, group in zip(CHATS, engine.sample(CHATS, 3, greedy, seed=0)):
        expected = engine.tokenizer.decode(_alone(engine, chat, 12), skip_special_tokens=True).strip()
        assert [r.text for r in group] == [expected] * 3


def test_auto_picks_a_static_uncompiled_cache_on_cpu_and_compile_needs_a_static_cache(tiny_model_dir):
    from pydantic import ValidationError

    from steep.generate.config import HFEngineConfig

    engine = _engine(tiny_model_dir)
    assert engine.plan.cache == "static" and engine._step is None and engine.plan.last_logits_only
    assert HFChatGenerator(engine.model, engine.tokenizer, "cpu", cache="dynamic").plan.cache == "dynamic"
    with pytest.raises(ValidationError, match="compile: on needs cache: static"):
        HFEngineConfig(cache="dynamic", compile="on")
    with pytest.raises(ValueError, match="static cache"):
        HFChatGenerator(engine.model, engine.tokenizer, "cpu", cache="dynamic", compile="on")


def test_top_p_keeps_what_transformers_keeps_and_the_candidate_shortcut_falls_back_when_short():
    from transformers.generation.logits_process import TopPLogitsWarper

    from steep.generate.nucleus import _nucleus_keep, next_tokens

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 500, generator=generator) * 3
    for top_p in (0.1, 0.5, 0.9, 0.99):
        reference = TopPLogitsWarper(top_p)(None, logits.clone()) > float("-inf")
        sorted_probs, sorted_ids = torch.softmax(logits, -1).sort(-1, descending=True)
        ours = torch.zeros_like(reference).scatter(-1, sorted_ids, _nucleus_keep(sorted_probs, top_p))
        assert torch.equal(ours, reference)
    # a flat distribution: the top 4 candidates hold 4/500 of the mass, so the rule needs the full sort
    torch.manual_seed(0)
    flat = next_tokens(torch.zeros(8, 500).repeat(50, 1), temperature=1.0, top_p=0.9, candidates=4)
    assert len(set(flat.tolist())) > 4
    peaked = torch.full((200, 500), -20.0)
    peaked[:, :3] = torch.tensor([5.0, 4.0, 3.0])  # the top 3 hold all the mass: candidates suffice
    assert set(next_tokens(peaked, temperature=1.0, top_p=0.5, candidates=4).tolist()) <= {0, 1}
    assert set(next_tokens(peaked, temperature=1.0, top_p=0.5, candidates=None).tolist()) <= {0, 1}  # the GPU's full sort


@pytest.mark.slow  # inductor builds the graph on the CPU: ~30 s on one core, on GPUs `auto` compiles
def test_a_compiled_decode_step_on_the_static_cache_gives_the_same_greedy_replies(tiny_model_dir):
    """The CUDA path (static cache + torch.compile of the decode step, length bucketed) forced on a CPU."""
    from steep.model.load import load_model, load_tokenizer

    model, tokenizer = load_model(tiny_model_dir, device="cpu"), load_tokenizer(tiny_model_dir)
    compiled = HFChatGenerator(model, tokenizer, "cpu", compile="on")
    assert compiled.plan.cache == "static" and compiled.plan.length_bucket == 128 and compiled._step is not None
    greedy = GenerationConfig(max_new_tokens=10, temperature=0.0, batch_size=6)
    expected = HFChatGenerator(model, tokenizer, "cpu").sample(CHATS, 2, greedy, seed=0)
    for _ in range(2):  # the second call reuses the first's static cache (same rows and bucketed length)
        assert [[r.text for r in g] for g in compiled.sample(CHATS, 2, greedy, seed=0)] == [[r.text for r in g] for g in expected]
    assert list(compiled._static_pool) == [(6, 128)]
