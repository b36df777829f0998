"""Held-out bits per byte of a model on text: the cpt metric and the forgetting measure.

    bpb = measure_bpb(model, tokenizer, BpbTask(name="domain", files=[...]), device="cpu")
"""

from __future__ import annotations

from pathlib import Path

import torch

from steep.artifacts import read_jsonl
from steep.tasks.metrics import bits_per_byte
from steep.tasks.spec import BpbTask


def read_documents(path: Path) -> list[str]:
    """The non-empty `text` of every row of a JSONL file, or of every `*.jsonl` in a directory (curate's output)."""
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    return [row["text"] for file in files for row in read_jsonl(file) if row.get("text", "").strip()]


def measure_bpb(model, tokenizer, task: BpbTask, device: str) -> float:
    texts = [text for file in task.files for text in read_documents(file)][: task.max_docs]
    return model_bits_per_byte(model, tokenizer, texts, task.seq_len, device)


@torch.no_grad()
def model_bits_per_byte(model, tokenizer, texts: list[str], seq_len: int, device: str, batch_size: int = 8) -> float:
    """Held-out bits per byte: total next-token NLL (nats) / ln 2 / UTF-8 bytes.

    Bytes, not tokens, so models with different tokenizers (or a tokenizer that grew) compare fairly. Each text
    is cut into windows of `seq_len` tokens; the first token of each window is context only, so a few tokens
    per window go unscored: the same for every model evaluated on the same tokenizer.
    """
    model.eval()
    windows: list[list[int]] = []
    total_bytes = 0
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) < 2:
            continue
        total_bytes += len(text.encode("utf-8"))
        for start in range(0, len(ids) - 1, seq_len):
            window = ids[start : start + seq_len + 1]
            if len(window) >= 2:
                windows.append(window)
    total_nll = 0.0
    for begin in range(0, len(windows), batch_size):
        batch = windows[begin : begin + batch_size]
        width = max(len(w) for w in batch)
        input_ids = torch.full((len(batch), width), tokenizer.pad_token_id or 0, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, window in enumerate(batch):
            input_ids[row, : len(window)] = torch.tensor(window)
            mask[row, : len(window)] = 1
        input_ids, mask = input_ids.to(device), mask.to(device)
        logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
        targets = input_ids[:, 1:]
        token_nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        total_nll += float((token_nll * mask[:, 1:]).sum())
    if total_bytes == 0:
        raise ValueError("bits_per_byte: no held-out text long enough to score")
    return bits_per_byte(total_nll, total_bytes)
