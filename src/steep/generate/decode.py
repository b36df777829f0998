"""The decode loop behind `HFChatGenerator`: one prefill per prompt, its KV cache shared by the prompt's k rows,
then one token a step for every row, in a dynamic or a static (preallocated) transformers cache.

    new_ids = decode(model, input_ids, attention_mask, k=4, plan=DecodePlan(max_new_tokens=128, stop_ids=[2],
                     pad_id=2, temperature=0.7, top_p=0.9, cache="static"))   # [rows * k, 128], pad after a stop

`input_ids` / `attention_mask` are `[prompts, width]`, left-padded. Why a loop of our own rather than
`model.generate` (measured on this project's 2-core CPU, one thread, SmolLM2-135M, 8 prompts of ~490 tokens, K=4,
32 rows): generate computes every row's prefill, k copies of the same prompt (~54 s of its ~130 s here; 8 prefills
of one prompt each take ~13 s); its top-p warper sorts the whole 49,152-token vocabulary of every row every step
and `multinomial` draws over all of it (~170 ms against a ~330 ms forward pass); and it keeps computing rows that
have stopped. Here the prefill runs once per prompt with logits for the last position only (`logits_to_keep=1`:
the full logits of a prefill are 8 x 495 x 49,152 floats, 0.8 GB and ~3.5 s), sampling is exact top-p over the
top 64 candidates (`steep.generate.nucleus`), and once an eighth of the rows have stopped they leave the batch
(their cache rows are dropped; uncompiled only). The model's forward, its caches (`DynamicCache`, `StaticCache`)
and its mask building are transformers' own.

Where a step's time goes then (torch profiler, 32 rows, dynamic cache): matmuls 47% (the weights, ~100M
multiply-adds a row, plus the tied 576 x 49,152 lm_head: ~40 ms), attention 28% (each row reads its own copy of
the prompt's keys and values), `torch.cat` of the dynamic cache 20%.

Static cache: the keys and values of every layer live in one preallocated `[rows, kv_heads, max_len, head_dim]`
tensor per layer, written in place (`index_copy_`), so a step copies nothing (a `DynamicCache` concatenates, i.e.
copies the whole cache, every step) and every step has the same shapes, which is what `torch.compile` (CUDA
graphs) needs. Its memory, for rows x max_len tokens: 2 (K, V) x layers x kv_heads x head_dim x bytes a token.
SmolLM2-135M in float32: 2 x 30 x 3 x 64 x 4 B = 45 KiB a token; 32 rows x 623 (495 + 128) = 19,936 tokens ->
0.86 GiB. Llama-3.2-1B in bfloat16: 2 x 16 x 8 x 64 x 2 B = 32 KiB a token; 256 rows x 640 (bucketed) = 163,840
tokens -> 5 GiB. The dynamic cache holds the same at the end of a batch (both keep k copies of the prompt's keys,
one per row), plus a transient copy while it concatenates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from steep.generate.nucleus import next_tokens


@dataclass(frozen=True)
class DecodePlan:
    max_new_tokens: int
    stop_ids: list[int]
    pad_id: int
    temperature: float
    top_p: float
    cache: Literal["dynamic", "static"] = "dynamic"
    cache_keyword: str = "cache"  # transformers 5.x; "past_key_values" before
    candidates: int | None = 64  # top-p looks at the top 64 first (see nucleus.py); None = full sort
    length_bucket: int = 1  # static cache length rounded up to this (compiled graphs then recompile less often)
    check_every: int = 1  # steps between "has every row stopped?" checks (each is a host sync on a GPU)
    last_logits_only: bool = True  # pass `logits_to_keep=1` (models whose forward takes it: most in transformers 5)
    drop_finished: bool = False  # take stopped rows out of the batch (changes shapes: not with a compiled step)


def decode(
    model, input_ids: torch.Tensor, attention_mask: torch.Tensor, k: int, plan: DecodePlan, step: Callable | None = None,
    static_pool: dict | None = None,
) -> torch.Tensor:
    """New token ids `[prompts * k, max_new_tokens]`, rows grouped by prompt (prompt 0's k rows first); after a row's
    stop token, `pad_id`. `step` is the model's call to use for decode steps (a compiled one), default `model`.
    `static_pool` (a dict the caller keeps) holds the last static cache for the next batch of the same shape: a
    compiled step's CUDA graphs are recorded against its tensors' addresses, and a new cache would mean recording
    again. Not with `drop_finished`, which replaces the cache's tensors."""
    from transformers import DynamicCache

    step = step or model
    last = {"logits_to_keep": 1} if plan.last_logits_only else {}
    prompts, width = input_ids.shape
    rows = prompts * k
    positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    prefill_cache = DynamicCache(config=model.config)
    logits = model(
        input_ids=input_ids, attention_mask=attention_mask, position_ids=positions, use_cache=True, **last,
        **{plan.cache_keyword: prefill_cache},
    ).logits[:, -1]  # fmt: skip
    total = width + plan.max_new_tokens
    if plan.cache == "static":
        max_len = -(-total // plan.length_bucket) * plan.length_bucket
        cache = _static_copy(prefill_cache, model, rows, k, max_len, width, static_pool)
        del prefill_cache
    else:
        max_len = total
        cache = prefill_cache
        cache.batch_repeat_interleave(k)
    # the 2D padding mask over every slot a row can reach; causality hides the slots not written yet
    mask = torch.ones((rows, max_len), dtype=attention_mask.dtype, device=input_ids.device)
    mask[:, :width] = attention_mask.repeat_interleave(k, dim=0)
    next_position = attention_mask.sum(-1).repeat_interleave(k, dim=0)[:, None]
    stops = torch.tensor(plan.stop_ids, device=input_ids.device)
    out = torch.full((rows, plan.max_new_tokens), plan.pad_id, dtype=torch.long, device=input_ids.device)
    active = torch.arange(rows, device=input_ids.device)  # the rows still in the batch, as rows of `out`
    finished = torch.zeros(rows, dtype=torch.bool, device=input_ids.device)
    tokens = next_tokens(logits.repeat_interleave(k, dim=0), plan.temperature, plan.top_p, plan.candidates)
    for index in range(plan.max_new_tokens):
        tokens = tokens.masked_fill(finished, plan.pad_id)
        out[active, index] = tokens
        finished |= torch.isin(tokens, stops)
        if index == plan.max_new_tokens - 1 or ((index + 1) % plan.check_every == 0 and bool(finished.all())):
            break
        if plan.drop_finished and int(finished.sum()) * 8 >= len(finished):
            # an eighth of the rows have stopped: drop them, so later steps compute only the rows still writing
            # (a step's cost grows with its rows; copying the kept cache once costs about one step)
            keep = (~finished).nonzero().squeeze(-1)
            if len(keep) == 0:  # every row has stopped (seen here first when `check_every` > 1)
                break
            active, tokens, finished, mask, next_position = active[keep], tokens[keep], finished[keep], mask[keep], next_position[keep]
            _select_rows(cache, keep)
        seen = max_len if plan.cache == "static" else width + index + 1
        logits = step(
            input_ids=tokens[:, None], attention_mask=mask[:, :seen], position_ids=next_position + index,
            use_cache=True, **last, **{plan.cache_keyword: cache},
        ).logits[:, -1]  # fmt: skip
        tokens = next_tokens(logits, plan.temperature, plan.top_p, plan.candidates)
    return out


def _select_rows(cache, keep: torch.Tensor) -> None:
    """Keep only rows `keep` of a dynamic or static cache (static layers get new, smaller tensors: fine uncompiled)."""
    for layer in cache.layers:
        layer.keys, layer.values = layer.keys.index_select(0, keep), layer.values.index_select(0, keep)
        if hasattr(layer, "batch_size"):
            layer.batch_size = len(keep)


def _static_copy(prefill, model, rows: int, k: int, max_len: int, width: int, pool: dict | None):
    """A `StaticCache` of `rows` x `max_len` holding each prompt's prefill keys and values in its k rows: copied
    by broadcasting (no k-fold intermediate), and written in place so the tensors keep their addresses. Slots past
    `width` may hold an earlier batch's values: causality hides a slot until this batch writes it."""
    from transformers import StaticCache

    if not static_supported(model):
        raise ValueError("cache: static needs full-attention layers only (this model has sliding-window ones): use cache: dynamic")
    shape = (rows, max_len)
    cache = pool.get(shape) if pool is not None else None
    if cache is None:
        cache = StaticCache(config=model.config, max_cache_len=max_len)
        if pool is not None:
            pool.clear()  # one cache at a time: each holds rows x max_len tokens of keys and values
            pool[shape] = cache
    for source, target in zip(prefill.layers, cache.layers):
        if not target.is_initialized:
            target.lazy_initialization(source.keys[:1].expand(rows, -1, -1, -1), source.values[:1].expand(rows, -1, -1, -1))
        target.keys[:, :, :width].unflatten(0, (-1, k)).copy_(source.keys[:, None])
        target.values[:, :, :width].unflatten(0, (-1, k)).copy_(source.values[:, None])
        target.cumulative_length.fill_(width)
    return cache


def static_supported(model) -> bool:
    """True when every layer of the model's `StaticCache` is a plain full-attention `StaticLayer`: a sliding-window
    layer keeps only its window, which the prefill copy above does not handle."""
    from transformers import StaticCache
    from transformers.cache_utils import StaticLayer

    try:
        layers = StaticCache(config=model.config, max_cache_len=1).layers
    except (AttributeError, KeyError, TypeError, ValueError):  # an architecture whose config transformers cannot lay a static cache out for
        return False
    return all(type(layer) is StaticLayer for layer in layers)
