"""Causal language-model training on raw text, shared by from-scratch pre-training and cpt.

Documents are joined with EOS and cut into fixed `seq_len` blocks (trl's "wrapped" packing): no padding, every
token trains. Checkpoints go to `<work_dir>/checkpoints/`; a stage killed mid-training resumes from the last one.
"""

from __future__ import annotations

from pathlib import Path

from steep.config import LoraConfig, OptimConfig
from steep.train.common import compact_progress, peft_lora_config, trainer_arguments


def last_checkpoint(checkpoint_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if not Path(checkpoint_dir).is_dir():
        return None
    return get_last_checkpoint(str(checkpoint_dir))


def train_on_text(model, tokenizer, texts: list[str], *, seq_len: int, optim: OptimConfig, work_dir: Path, seed: int, device: str) -> dict:
    """Train `model` in place on `texts`; return trl's training metrics (loss, steps, runtime)."""
    _, metrics = _train(model, tokenizer, texts, seq_len=seq_len, optim=optim, work_dir=work_dir, seed=seed, device=device)
    return metrics


def train_lora_on_text(
    model, tokenizer, texts: list[str], *, lora: LoraConfig, seq_len: int, optim: OptimConfig, work_dir: Path, seed: int, device: str
):
    """Train a LoRA adapter on `texts`; return (peft model, trl's training metrics)."""
    from transformers import set_seed

    set_seed(seed)  # the adapter's init, as in sft: independent of what ran earlier in the process
    return _train(
        model, tokenizer, texts, seq_len=seq_len, optim=optim, work_dir=work_dir, seed=seed, device=device,
        peft_config=peft_lora_config(lora),
    )  # fmt: skip


def _train(model, tokenizer, texts, *, seq_len, optim, work_dir, seed, device, peft_config=None):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    checkpoint_dir = Path(work_dir) / "checkpoints"
    args = SFTConfig(
        **trainer_arguments(optim, checkpoint_dir, seed, device),
        max_length=seq_len,
        packing=True,
        packing_strategy="wrapped",
        dataset_text_field="text",
        dataset_num_proc=None,
    )
    if optim.checkpoint_steps:
        args.save_strategy = "steps"
        args.save_steps = optim.checkpoint_steps
        args.save_total_limit = 1
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict({"text": texts}), processing_class=tokenizer,
        peft_config=peft_config,
    )  # fmt: skip
    compact_progress(trainer)
    result = trainer.train(resume_from_checkpoint=last_checkpoint(checkpoint_dir))
    metrics = dict(result.metrics)
    metrics["train_loss_final"] = _last_logged_loss(trainer)
    return trainer.model, metrics


def _last_logged_loss(trainer) -> float | None:
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return losses[-1] if losses else None
