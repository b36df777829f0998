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


# --------------------------------------------------------------------------------------------------- vLLM

# vLLM's `--max-lora-rank` takes one of these; an adapter's rank is rounded up to the next.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def read_adapter_config(adapter_dir: Path) -> dict:
    import json

    path = Path(adapter_dir) / "adapter_config.json"
    if not path.exists():
        raise FileNotFoundError(f"{adapter_dir}: no adapter_config.json (not a PEFT adapter directory)")
    return json.loads(path.read_text())


def vllm_lora_problems(adapter_config: dict) -> list[str]:
    """Why vLLM would refuse this adapter (empty when it is a plain LoRA it loads): vLLM's LoRA path supports
    peft LoRA on linear layers only, without DoRA's magnitude vectors and without fully trained `modules_to_save`."""
    problems = []
    if adapter_config.get("peft_type", "LORA") != "LORA":
        problems.append(f"peft_type is {adapter_config.get('peft_type')!r}, not LORA")
    if adapter_config.get("use_dora"):
        problems.append("it is a DoRA adapter (use_dora: true)")
    if adapter_config.get("modules_to_save"):
        problems.append(f"it trains whole modules (modules_to_save: {adapter_config['modules_to_save']})")
    return problems


def adapter_rank(adapter_config: dict) -> int:
    """The largest rank in the adapter: `r`, or a larger one in `rank_pattern`."""
    return max([int(adapter_config.get("r", 8)), *(int(r) for r in (adapter_config.get("rank_pattern") or {}).values())])


def vllm_max_lora_rank(rank: int) -> int:
    for allowed in VLLM_LORA_RANKS:
        if rank <= allowed:
            return allowed
    raise ValueError(f"LoRA rank {rank} is above vLLM's largest --max-lora-rank ({VLLM_LORA_RANKS[-1]}); merge it")


def vllm_serve_command(model_dir: Path, served_name: str, adapters: dict[str, Path], max_lora_rank: int | None,
                       host: str = "127.0.0.1", port: int = 8000) -> str:  # fmt: skip
    """The exact `vllm serve` command line for a model directory and its plain LoRA adapters (name -> dir)."""
    import shlex

    parts = ["vllm", "serve", shlex.quote(str(model_dir)), "--served-model-name", shlex.quote(served_name),
             "--host", host, "--port", str(port)]  # fmt: skip
    if adapters:
        parts += ["--enable-lora", "--lora-modules", *(shlex.quote(f"{name}={path}") for name, path in adapters.items())]
        parts += ["--max-lora-rank", str(max_lora_rank), "--max-loras", str(len(adapters))]
    return " ".join(parts)


def merge_adapter_dir(base_dir: Path, adapter_dir: Path, out_dir: Path) -> dict:
    """Load `base_dir` + the adapter, merge (parity-checked, `merge_with_parity_check`) and save to `out_dir`:
    what vLLM cannot load as an adapter (DoRA, modules_to_save) it serves as a plain model."""
    from peft import PeftModel

    from steep.model.load import load_model, load_tokenizer

    model = PeftModel.from_pretrained(load_model(str(base_dir), "cpu", "float32"), str(adapter_dir))
    return merge_with_parity_check(model, load_tokenizer(str(base_dir)), Path(out_dir))
