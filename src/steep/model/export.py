"""Export: fold a LoRA adapter into its base weights, and prove the merged model is the same function first.

A merge can go wrong quietly: a tied `lm_head` that stops being tied, a DoRA magnitude applied twice, a dtype that
rounds the update `B @ A` away. So before anything is written, the adapter model and the merged model both score
the same probe batch and their logits must agree within a tolerance set by the precision they run in:

    parity = merge_with_parity_check(peft_model, tokenizer, out_dir)   # raises MergeParityError, writes nothing
    parity["merge_parity_max_abs_diff"]

The relative error is max |merged - adapter| / max |adapter| over all probe logits. fp32 merges agree to ~1e-6;
half precision rounds W + BA once more than the adapter path does, so it gets a looser bound.
"""

from __future__ import annotations

from pathlib import Path

import torch

# Relative logit error allowed per dtype. fp32: several orders above what a correct merge shows (~1e-6), far
# below what a wrong one does (a dropped adapter moves logits by ~1e-1 relative on the demo model).
PARITY_RTOL = {torch.float32: 1e-4, torch.bfloat16: 2e-2, torch.float16: 1e-2}
PROBE_TOKENS = 64
PROBE_BATCH = 2


class MergeParityError(RuntimeError):
    pass


def adapter_size_bytes(adapter_dir: Path) -> int:
    """Bytes on disk of the adapter weights and config (what a user ships when they ship only the adapter)."""
    return sum(p.stat().st_size for p in Path(adapter_dir).rglob("*") if p.is_file() and p.name.startswith("adapter_"))


def _probe_ids(vocab_size: int, device: torch.device) -> torch.Tensor:
    # Fixed random token ids: parity is about the function, not about meaningful text, and random ids touch rows
    # of the embedding a short prompt never would.
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, vocab_size, (PROBE_BATCH, PROBE_TOKENS), generator=generator).to(device)


@torch.no_grad()
def _logits(model, input_ids: torch.Tensor) -> torch.Tensor:
    return model(input_ids=input_ids).logits.float()


def merge_with_parity_check(peft_model, tokenizer, out_dir: Path, rtol: float | None = None) -> dict:
    """Merge the adapter into the base (in place), check parity, then save a plain HF directory at `out_dir`."""
    was_training = peft_model.training
    peft_model.eval()  # dropout off: both forward passes must be deterministic
    base = peft_model.get_base_model()
    probe = _probe_ids(base.config.vocab_size, next(base.parameters()).device)
    dtype = next(base.parameters()).dtype
    before = _logits(peft_model, probe)
    merged = peft_model.merge_and_unload()
    after = _logits(merged, probe)
    max_abs = (after - before).abs().max().item()
    relative = max_abs / max(before.abs().max().item(), 1e-12)
    allowed = rtol if rtol is not None else PARITY_RTOL.get(dtype, 2e-2)
    if not relative <= allowed:  # `not <=` also catches NaN
        raise MergeParityError(
            f"merged model disagrees with the adapter model: max |logit diff| {max_abs:.3g} "
            f"({relative:.3g} relative, allowed {allowed:g} for {dtype}); nothing was written to {out_dir}"
        )
    merged.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    if was_training:
        merged.train()
    return {"merge_parity_max_abs_diff": max_abs, "merge_parity_rel_diff": relative}


def save_adapter_and_model(peft_model, tokenizer, work_dir: Path) -> dict:
    """Write `<work_dir>/adapter/` (PEFT, with the tokenizer) and `<work_dir>/model/` (merged, plain HF,
    parity-checked); return what the manifest records: trainable parameters, adapter size on disk and the merge's
    logit parity."""
    from steep.model.lora import trainable_parameters

    params = trainable_parameters(peft_model)  # before the merge folds the adapter away
    adapter_dir = Path(work_dir) / "adapter"
    peft_model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    parity = merge_with_parity_check(peft_model, tokenizer, Path(work_dir) / "model")
    return {**params, "adapter_bytes": adapter_size_bytes(adapter_dir), **parity}
