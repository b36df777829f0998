"""sft: LoRA supervised fine-tuning on chat data (OpenAI-style `messages`), loss on assistant turns only.

    steep sft PIPELINE.yaml

The chat template is checked by a round trip before training (steep.train.common.check_chat_template) and its
hash goes into the manifest; dpo, rs, eval and serve check they see the same one. The metric is format
adherence: the share of held-out answers that full-match `sft.format_pattern`, before and after.
"""

from __future__ import annotations

from pathlib import Path

from steep.artifacts import read_jsonl
from steep.config import GenerationConfig, LoraConfig, OptimConfig
from steep.evaluate.metrics import format_adherence
from steep.generate.hf import HFChatGenerator
from steep.train.common import (
    compact_progress,
    load_stage_model,
    peft_lora_config,
    trainable_parameters,
    trainer_arguments,
)
from steep.train.export import adapter_size_bytes, merge_with_parity_check


def heldout_prompts(rows: list[dict]) -> list[list[dict]]:
    """Each held-out conversation up to (not including) its last assistant turn: the turn the model must write."""
    prompts = []
    for row in rows:
        messages = row["messages"]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        prompts.append(messages[:last])
    return prompts


def measure_format(generator: HFChatGenerator, prompts: list[list[dict]], pattern: str, generation: GenerationConfig, seed: int) -> tuple[float, list[str]]:
    answers = [g.text for g in generator.generate_chat(prompts, generation, seed=seed)]
    return format_adherence(answers, pattern), answers


def train_lora_on_chats(
    model, tokenizer, conversations: list[list[dict]], *, lora: LoraConfig, optim: OptimConfig, max_length: int, work_dir: Path, seed: int, device: str
):
    """LoRA-train on whole conversations with the loss on assistant tokens; return (peft model, train metrics)."""
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    from steep.train.lm import last_checkpoint

    checkpoint_dir = Path(work_dir) / "checkpoints"
    args = SFTConfig(
        **trainer_arguments(optim, checkpoint_dir, seed, device),
        max_length=max_length,
        assistant_only_loss=True,
        packing=False,
        dataset_num_proc=None,
    )
    if optim.checkpoint_steps:
        args.save_strategy, args.save_steps, args.save_total_limit = "steps", optim.checkpoint_steps, 1
    # The adapter's A matrices are drawn when the trainer wraps the model, before the Trainer seeds anything:
    # seed here, or the init depends on whatever ran earlier in the process (and differs across processes).
    set_seed(seed)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list([{"messages": c} for c in conversations]),
        processing_class=tokenizer,
        peft_config=peft_lora_config(lora),
    )
    compact_progress(trainer)
    result = trainer.train(resume_from_checkpoint=last_checkpoint(checkpoint_dir))
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    metrics = {**result.metrics, "train_loss_first": losses[0] if losses else None, "train_loss_final": losses[-1] if losses else None}
    return trainer.model, metrics


def run(ctx) -> dict:
    cfg = ctx.config.sft
    model, tokenizer, template_sha = load_stage_model(ctx, cfg.lora)

    train_rows = read_jsonl(Path(cfg.train))
    heldout = heldout_prompts(read_jsonl(Path(cfg.heldout))[: cfg.max_heldout])
    before, _ = measure_format(HFChatGenerator(model, tokenizer, ctx.device), heldout, cfg.format_pattern, cfg.generation, ctx.seed)
    ctx.log(f"format adherence before: {before:.3f} on {len(heldout)} held-out prompts")

    conversations = [row["messages"] for row in train_rows]
    if cfg.launch.num_processes > 1:
        peft_model, train_metrics = _train_in_processes(ctx, model, conversations)
    else:
        peft_model, train_metrics = train_lora_on_chats(
            model, tokenizer, conversations,
            lora=cfg.lora, optim=cfg.optim, max_length=cfg.max_length, work_dir=ctx.work_dir, seed=ctx.seed, device=ctx.device,
        )
    params = trainable_parameters(peft_model)
    after, answers = measure_format(HFChatGenerator(peft_model, tokenizer, ctx.device), heldout, cfg.format_pattern, cfg.generation, ctx.seed)
    ctx.log(f"format adherence after: {after:.3f}")

    saved = save_adapter_and_model(peft_model, tokenizer, ctx)
    _write_samples(ctx.work_dir / "heldout_answers.jsonl", heldout, answers)
    return {
        "format_adherence_before": before,
        "format_adherence_after": after,
        "heldout_prompts": len(heldout),
        "train_conversations": len(train_rows),
        "chat_template_sha256": template_sha,
        **params,
        **saved,
        "train_loss_first": train_metrics.get("train_loss_first"),
        "train_loss_final": train_metrics.get("train_loss_final"),
        "train_runtime_s": train_metrics.get("train_runtime"),
    }


def _train_in_processes(ctx, model, conversations: list[list[dict]]):
    """`sft.launch.num_processes` > 1: train through `accelerate launch`, then load rank 0's adapter onto `model`."""
    from peft import PeftModel

    from steep.train.common import base_revision
    from steep.train.launch import launch_lora_on_chats

    cfg = ctx.config.sft
    adapter_dir, metrics = launch_lora_on_chats(
        model_ref=ctx.input_path("model"), revision=base_revision(ctx), dtype=ctx.config.base.dtype,
        conversations=conversations, lora=cfg.lora, optim=cfg.optim, max_length=cfg.max_length,
        work_dir=ctx.work_dir, seed=ctx.seed, device=ctx.device, launch=cfg.launch, log=ctx.log,
    )  # fmt: skip
    return PeftModel.from_pretrained(model, adapter_dir), metrics


def save_adapter_and_model(peft_model, tokenizer, ctx) -> dict:
    """Write `adapter/` (PEFT) and `model/` (merged, plain HF, parity-checked) and declare both as outputs.

    Returns what the manifest records about them: adapter size on disk and the merge's logit parity."""
    adapter_dir = ctx.work_dir / "adapter"
    peft_model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    parity = merge_with_parity_check(peft_model, tokenizer, ctx.work_dir / "model")
    ctx.add_output("adapter", adapter_dir)
    ctx.add_output("model", ctx.work_dir / "model")
    return {"adapter_bytes": adapter_size_bytes(adapter_dir), **parity}


def _write_samples(path: Path, prompts: list[list[dict]], answers: list[str]) -> None:
    from steep.artifacts import write_jsonl

    write_jsonl(path, ({"messages": p, "answer": a} for p, a in zip(prompts, answers)))
