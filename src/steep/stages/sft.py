"""sft: LoRA supervised fine-tuning on chat data (OpenAI-style `messages`), loss on assistant turns only.

    steep sft PIPELINE.yaml

The chat template is checked by a round trip before training (`steep.model.template.check_chat_template`) and
written as an artifact, `chat_template.jinja`, that serve checks the served model against. The metric is format
adherence: the share of held-out answers that full-match `sft.format_pattern`, before and after. With
`launch.num_processes` > 1 training runs in several processes (`steep.trainer.launch`), QLoRA included.
"""

from __future__ import annotations

from pydantic import Field

from steep.artifacts import atomic_write_text, read_jsonl, write_jsonl
from steep.generate.config import GenerationConfig
from steep.model.config import LoraConfig
from steep.schema import ExistingPath, Regex, StrictModel
from steep.stage import FileInput, FileOrStage, PreviousModel, StageContext, StageSpec, file_or_stage_output
from steep.tasks.spec import FormatTask
from steep.trainer.config import LaunchConfig, OptimConfig


class SftConfig(StrictModel):
    enabled: bool = True
    train: FileOrStage = Field(description="a JSONL of {messages}, or {from: synth} (synth's sft pairs)")
    heldout: ExistingPath
    format_pattern: Regex = Field(description="regex every assistant answer should full-match (the house format)")
    max_length: int = Field(512, ge=16)
    max_heldout: int = Field(64, ge=1)
    lora: LoraConfig = LoraConfig()
    optim: OptimConfig = OptimConfig()
    generation: GenerationConfig = GenerationConfig(temperature=0.0)
    launch: LaunchConfig = LaunchConfig()


def heldout_tasks(cfg: SftConfig) -> list[FormatTask]:
    return [FormatTask(heldout=cfg.heldout, pattern=cfg.format_pattern, max_prompts=cfg.max_heldout, generation=cfg.generation)]


def consumes(cfg: SftConfig) -> dict:
    return {"model": PreviousModel(), "train": file_or_stage_output(cfg.train, "sft"), "heldout": FileInput(cfg.heldout)}


def run(ctx: StageContext) -> dict:
    from steep.generate.hf import HFChatGenerator
    from steep.model.export import save_adapter_and_model
    from steep.model.load import load_chat_model
    from steep.tasks.answers import measure_format
    from steep.trainer.core import TrainPlace, train_chats

    cfg: SftConfig = ctx.config
    model, tokenizer, template_sha = load_chat_model(ctx, cfg.lora)
    task = heldout_tasks(cfg)[0]
    before, _, _ = measure_format(HFChatGenerator(model, tokenizer, ctx.device), task, ctx.seed)
    ctx.log.info(f"format adherence before: {before:.3f}")

    conversations = [row["messages"] for row in read_jsonl(ctx.input_path("train"))]
    place = TrainPlace(ctx.work_dir / "checkpoints", ctx.work_dir / "metrics.jsonl", seed=ctx.seed, device=ctx.device, log=ctx.log)
    if cfg.launch.num_processes > 1:
        peft_model, summary = _train_in_processes(ctx, model, conversations, place)
    else:
        peft_model, summary = train_chats(model, tokenizer, conversations, lora=cfg.lora, optim=cfg.optim, max_length=cfg.max_length, place=place)
    after, prompts, answers = measure_format(HFChatGenerator(peft_model, tokenizer, ctx.device), task, ctx.seed)
    ctx.log.info(f"format adherence after: {after:.3f}")

    saved = save_adapter_and_model(peft_model, tokenizer, ctx.work_dir)
    atomic_write_text(ctx.work_dir / "chat_template.jinja", tokenizer.chat_template)
    write_jsonl(ctx.work_dir / "heldout_answers.jsonl", ({"messages": p, "answer": a} for p, a in zip(prompts, answers)))
    ctx.add_outputs("adapter", "model", "chat_template.jinja")
    return {
        "format_adherence_before": before,
        "format_adherence_after": after,
        "heldout_prompts": len(prompts),
        "train_conversations": len(conversations),
        "chat_template_sha256": template_sha,
        **saved,
        **summary,
    }


def _train_in_processes(ctx: StageContext, model, conversations: list[list[dict]], place):
    """`sft.launch.num_processes` > 1: train through `accelerate launch`, then load rank 0's adapter onto `model`."""
    from peft import PeftModel

    from steep.trainer.launch import launch_lora_on_chats

    cfg: SftConfig = ctx.config
    source = ctx.inputs["model"]
    adapter_dir, metrics = launch_lora_on_chats(
        model_ref=source.path, revision=source.revision, dtype=ctx.dtype,
        conversations=conversations, lora=cfg.lora, optim=cfg.optim, max_length=cfg.max_length,
        work_dir=ctx.work_dir, metrics_path=place.metrics_path, seed=ctx.seed, device=ctx.device, launch=cfg.launch, log=ctx.log,
    )  # fmt: skip
    return PeftModel.from_pretrained(model, adapter_dir), metrics


STAGE = StageSpec(
    name="sft", config=SftConfig, run=run, consumes=consumes, produces=("adapter", "model", "chat_template"),
    makes_model=True, tasks=heldout_tasks,
)  # fmt: skip
