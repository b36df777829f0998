"""What the two local-model judges (`hf_local`, `reward_model`) share: the model directory check, its digest, a
lazily loaded model, batched left-padded forward passes, and a verdict cache keyed by what was asked.

Loading is lazy: building the judge reads the tokenizer and the config (cheap, and enough to fail fast on a wrong
directory or a label that is not one token), the weights load on the first question. So `build_training_judge`
refuses a judge without terms before any weights are read. torch and transformers are imported only here, inside
functions: importing `steep.judge` stays light.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

from steep.chat import Message, message_text
from steep.judge.base import PointwiseJudge
from steep.judge.verdict_cache import VerdictCache, cache_key

DeviceName = Literal["auto", "cpu", "cuda"]
DtypeName = Literal["auto", "float32", "bfloat16", "float16"]


def _hf_dir(path: Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"not a directory: {path} (a local Hugging Face model directory; nothing is downloaded)")
    if not (path / "config.json").is_file():
        raise ValueError(f"not a Hugging Face model directory (no config.json): {path}")
    return path


# A local HF directory (`save_pretrained` output), checked when the YAML validates.
HFModelDir = Annotated[Path, AfterValidator(_hf_dir)]

_WHOLE_FILE_LIMIT = 16 << 20  # config, tokenizer and template files are hashed whole
_EDGE = 1 << 20  # weight shards: name, size, first and last MiB (a full hash of 15 GB would take minutes)


def model_dir_digest(path: Path) -> str:
    """12 hex chars naming the directory's content: every small file whole, every large file (weights) by name,
    size and its first and last MiB. A retrained or swapped model changes it; a copied directory keeps it."""
    digest = hashlib.sha256()
    root = Path(path)
    for file in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(root).as_posix()}\0{size}\0".encode())
        with file.open("rb") as handle:
            if size <= _WHOLE_FILE_LIMIT:
                digest.update(handle.read())
            else:
                digest.update(handle.read(_EDGE))
                handle.seek(size - _EDGE)
                digest.update(handle.read(_EDGE))
    return digest.hexdigest()[:12]


def plain_rendering(messages: Sequence[Message]) -> str:
    """`role: content` lines: what a model without a chat template reads."""
    return "\n".join(f"{m.get('role', '?')}: {message_text(m)}" for m in messages)


def load_judge_tokenizer(path: Path):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot load the tokenizer of judge model {path}: {error}") from error
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


class HFModelJudge(PointwiseJudge):
    """Base of the local-model judges: lazy model, batched forward passes, cache, usage. Thread-safe (one lock
    around the model: a forward pass already uses every core or the whole GPU)."""

    needs_training_terms = True  # its verdicts are a third-party model's outputs: see steep.judge.terms

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.path = Path(config.path)
        self.tokenizer = load_judge_tokenizer(self.path)
        self.digest = model_dir_digest(self.path)
        self.cache = VerdictCache(config.cache_dir) if config.cache_dir is not None else None
        self._model = None
        self._device = "cpu"
        self._lock = threading.RLock()
        self.truncated = 0  # questions cut to max_length

    # -- the model -------------------------------------------------------------------------------------------
    def _load(self, device: str, dtype):  # pragma: no cover - each subclass loads its own auto class
        raise NotImplementedError

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                from steep.model.load import resolve_device, resolve_dtype

                self._device = resolve_device(self.config.device)
                model = self._load(self._device, resolve_dtype(self.config.dtype, self._device))
                model.eval()
                self._model = model
            return self._model

    def set_model(self, model) -> None:
        """Use `model` (already loaded, on its device) instead of reading the directory: for tests and callers
        that share one model between a judge and something else."""
        with self._lock:
            self._model = model
            self._device = str(next(model.parameters()).device) if any(True for _ in model.parameters()) else "cpu"

    # -- batched forward passes ------------------------------------------------------------------------------
    def _forward(self, sequences: Sequence[list[int]], head: Callable[[Any, Any], Any]) -> list[list[float]]:
        """`head(outputs, input_ids)` -> a [batch, k] tensor per batch; returns one k-list per sequence, in order.

        Left padding, so the last position of every row is its last real token; position ids count real tokens
        only, so a row scores the same padded in a batch as alone. Longest first: rows of similar length share a
        batch and little compute is spent on padding."""
        import torch

        model = self.model
        pad = self.tokenizer.pad_token_id
        order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
        out: list[list[float] | None] = [None] * len(sequences)
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.config.batch_size):
                rows = order[start : start + self.config.batch_size]
                width = max(len(sequences[i]) for i in rows)
                ids = torch.full((len(rows), width), pad, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, i in enumerate(rows):
                    seq = sequences[i]
                    ids[r, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
                    mask[r, width - len(seq) :] = 1
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                ids, mask, positions = ids.to(self._device), mask.to(self._device), positions.to(self._device)
                outputs = model(input_ids=ids, attention_mask=mask, position_ids=positions, **self._forward_kwargs(model))
                values = head(outputs, ids).float().cpu().tolist()
                for r, i in enumerate(rows):
                    out[i] = values[r]
                self.usage.calls += len(rows)
                self.usage.prompt_tokens += int(mask.sum().item())
        return out  # type: ignore[return-value]

    def _forward_kwargs(self, model) -> dict:
        return {}

    def _encode(self, text: str) -> list[int]:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) > self.config.max_length:  # keep the end: the answer and the question asked about it
            self.truncated += 1
            ids = ids[-self.config.max_length :]
        return list(ids)

    def _cached(self, kind: str, keys: Sequence[str], compute: Callable[[list[int]], list[Any]]) -> list[Any]:
        """One value per key: from the cache when this judge was asked the same before, the rest computed in one
        batched call (`compute(indices)`), and stored."""
        values: list[Any] = [None] * len(keys)
        missing: list[int] = []
        for i, key in enumerate(keys):
            hit = self.cache.get(cache_key(self.identity, kind, key)) if self.cache is not None else None
            if hit is not None:
                self.usage.cache_hits += 1
                values[i] = hit["value"]
            else:
                missing.append(i)
        if missing:
            # the same question twice in one batch is computed once
            unique = list(dict.fromkeys(keys[i] for i in missing))
            first = {key: next(i for i in missing if keys[i] == key) for key in unique}
            computed = dict(zip(unique, compute([first[key] for key in unique])))
            for key, value in computed.items():
                if self.cache is not None:
                    self.cache.put(cache_key(self.identity, kind, key), {"value": value})
            for i in missing:
                values[i] = computed[keys[i]]
        return values


__all__ = ["DeviceName", "DtypeName", "HFModelDir", "HFModelJudge", "model_dir_digest", "plain_rendering"]
