"""Pick the next token from last-position logits: greedy, or temperature + top-p (nucleus) sampling.

    ids = next_tokens(logits[:, -1], temperature=0.7, top_p=0.9)                  # [rows] token ids
    ids = next_tokens(logits[:, -1], temperature=0.7, top_p=0.9, candidates=64)   # CPU: no full-vocab sort

The keep rule is transformers' `TopPLogitsWarper`: rank tokens by probability and keep each token whose
higher-ranked tokens hold less than `top_p` of the mass (the top token is always kept). On a CPU the exact rule
is expensive over a 49,152-token vocabulary: a sort of 32 rows x 49,152 logits took 119 ms a step and
`multinomial` over the full vocabulary 34 ms, against ~300 ms for the 135M model's whole forward pass (measured
on this project's 2-core machine, one thread). With `candidates`, the nucleus is looked for among the top
`candidates` tokens first (`topk`: ~3 ms): if they hold at least `top_p` of a row's mass, every token
the rule keeps is among them (the next one has >= `top_p` above it), so the result is the same set; the rows where
they do not (a flat distribution) are sorted in full, ~4 ms a row. On a GPU the full sort is cheap and needs no
host sync, so the engine passes `candidates=None` there.
"""

from __future__ import annotations

import torch


def next_tokens(logits: torch.Tensor, temperature: float, top_p: float, candidates: int | None = None) -> torch.Tensor:
    """Token ids `[rows]` for logits `[rows, vocab]` (the last position only). temperature 0 = greedy."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p >= 1:
        return torch.multinomial(probs, 1).squeeze(-1)
    if candidates is None or candidates >= probs.shape[-1]:
        return _sample_nucleus(*probs.sort(dim=-1, descending=True), top_p)
    top_probs, top_ids = probs.topk(candidates, dim=-1)  # sorted, highest first
    tokens = _sample_nucleus(top_probs, top_ids, top_p)
    short = (top_probs.sum(-1) < top_p).nonzero().squeeze(-1)  # rows whose nucleus is wider: sort those alone
    if len(short):
        tokens[short] = _sample_nucleus(*probs[short].sort(dim=-1, descending=True), top_p)
    return tokens


def _sample_nucleus(sorted_probs: torch.Tensor, sorted_ids: torch.Tensor, top_p: float) -> torch.Tensor:
    """Sample among the kept head of each row's probabilities (sorted highest first); `multinomial` renormalises."""
    pick = torch.multinomial(sorted_probs * _nucleus_keep(sorted_probs, top_p), 1)
    return sorted_ids.gather(-1, pick).squeeze(-1)


def _nucleus_keep(sorted_probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Which of the sorted (highest first) tokens top-p keeps: those with less than `top_p` of the mass above them,
    and always the first."""
    keep = (sorted_probs.cumsum(-1) - sorted_probs) < top_p
    keep[:, 0] = True
    return keep
