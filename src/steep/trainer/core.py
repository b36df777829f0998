"""The one trainer: every training stage (base, cpt, sft, dpo, rs) trains through the functions here.

    model, summary = train_text(model, tokenizer, texts, seq_len=256, optim=optim, place=place)      # base, cpt
    peft_model, summary = train_chats(model, tokenizer, chats, lora=lora, optim=optim, max_length=512, place=place)
    peft_model, summary = train_dpo(policy, tokenizer, pairs, lora=lora, optim=optim, beta=0.1, max_length=512, place=place)

Each builds a core trl trainer (`SFTTrainer`, `DPOTrainer`) from the same arguments (`training_arguments`) and
runs it through `fit`, which

- resumes from the last checkpoint in `place.checkpoint_dir` (written every `optim.checkpoint_steps`), so a
  killed stage continues where it stopped and ends at the uninterrupted run's weights;
- appends one row per logging step to `place.metrics_path` (the stage's `metrics.jsonl`): phase, step, loss,
  learning rate, grad norm, epoch, tokens seen. Rows a killed attempt logged after its last checkpoint are
  dropped on resume, so the file is the curve of the run that counts;
- returns a summary the stage puts in its manifest: steps, first and final loss, tokens seen, tokens/s, peak
  memory (CUDA: peak allocated by torch; CPU: the process's peak resident set).

`optim.report_to` passes through to TensorBoard, MLflow or W&B; the default sends nothing anywhere.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import PrinterCallback, TrainerCallback, set_seed

from steep.artifacts import atomic_write_text, iter_jsonl
from steep.log import get_logger
from steep.model.config import LoraConfig
from steep.model.load import ModelLoadError
from steep.model.lora import peft_lora_config
from steep.trainer.config import OptimConfig

CONSOLE_EVERY = 10  # console lines every N logged steps (every step still goes to metrics.jsonl)


@dataclass(frozen=True)
class TrainPlace:
    """Where one training run keeps its resumable state and its curve, and what it is called in the curve."""

    checkpoint_dir: Path
    metrics_path: Path
    phase: str = "train"  # "train", or "round0", "round1", ... for dpo
    seed: int = 0
    device: str = "cpu"
    log: logging.Logger = get_logger("trainer")


# steep's OptimConfig field -> the transformers TrainingArguments field it sets
OPTIM_TO_TRAINING_ARGUMENTS = {
    "learning_rate": "learning_rate",
    "epochs": "num_train_epochs",
    "max_steps": "max_steps",
    "batch_size": "per_device_train_batch_size",
    "grad_accum": "gradient_accumulation_steps",
    "warmup_ratio": "warmup_steps",  # transformers 5 reads a float in [0, 1) as a ratio of total steps
    "weight_decay": "weight_decay",
    "lr_scheduler": "lr_scheduler_type",
    "max_grad_norm": "max_grad_norm",
    "logging_steps": "logging_steps",
    "gradient_checkpointing": "gradient_checkpointing",
    "liger_kernel": "use_liger_kernel",
    "torch_compile": "torch_compile",
}


def training_arguments(optim: OptimConfig, place: TrainPlace) -> dict:
    """Keyword arguments shared by trl's SFTConfig and DPOConfig, from steep's small optimizer config."""
    if optim.liger_kernel:
        import importlib.util

        if importlib.util.find_spec("liger_kernel") is None:
            raise ModelLoadError("optim.liger_kernel needs the Liger kernels: pip install liger-kernel (CUDA only)")
    checkpoints = {"save_strategy": "no"}
    if optim.checkpoint_steps:
        checkpoints = {"save_strategy": "steps", "save_steps": optim.checkpoint_steps, "save_total_limit": 1}
    return dict(
        output_dir=str(place.checkpoint_dir),
        **{hf_name: getattr(optim, ours) for ours, hf_name in OPTIM_TO_TRAINING_ARGUMENTS.items()},
        seed=place.seed,
        data_seed=place.seed,
        **checkpoints,
        report_to=list(optim.report_to),  # [] by default: nothing phones home
        include_num_input_tokens_seen="non_padding",
        use_cpu=place.device == "cpu",
        bf16=place.device == "cuda" and torch.cuda.is_bf16_supported(),
        dataloader_num_workers=0,
        disable_tqdm=True,
        dataset_num_proc=None,
    )


def last_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest *complete* checkpoint. The Trainer writes a checkpoint in place and its `trainer_state.json`
    last, and deletes the previous one only after that: a kill mid-save leaves a newer, partial directory, which
    is skipped here (transformers' own `get_last_checkpoint` would resume from it and fail)."""
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        return None
    candidates = sorted(
        (p for p in checkpoint_dir.glob("checkpoint-*") if p.is_dir() and p.name.rsplit("-", 1)[1].isdigit()),
        key=lambda p: int(p.name.rsplit("-", 1)[1]),
        reverse=True,
    )
    for candidate in candidates:
        try:
            json.loads((candidate / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return str(candidate)
    return None


class _StepLog(TrainerCallback):
    """One JSON row per logging step into metrics.jsonl (rank 0 only), a short console line every few."""

    def __init__(self, place: TrainPlace) -> None:
        self.place = place
        self.logged = 0

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs or not state.is_world_process_zero:
            return
        row = {
            "phase": self.place.phase,
            "step": state.global_step,
            "loss": float(logs["loss"]),
            "learning_rate": logs.get("learning_rate"),
            "grad_norm": logs.get("grad_norm"),
            "epoch": logs.get("epoch"),
            "tokens_seen": state.num_input_tokens_seen,
        }
        for key, value in logs.items():  # dpo's rewards/margins, accuracies, ...
            if key.startswith("rewards/"):
                row[key] = value
        with open(self.place.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        self.logged += 1
        if self.logged % CONSOLE_EVERY == 1 or state.global_step == state.max_steps:
            self.place.log.info(f"  {self.place.phase} step {state.global_step}/{state.max_steps}  loss {row['loss']:.4f}")


def _keep_curve_until(place: TrainPlace, step: int) -> None:
    """Drop this phase's rows after `step` (logged by a killed attempt after its last checkpoint)."""
    path = place.metrics_path
    if not path.exists():
        return
    rows = [row for _, row in iter_jsonl(path)]
    kept = [row for row in rows if row.get("phase") != place.phase or row["step"] <= step]
    if len(kept) != len(rows):
        atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in kept))


def _peak_memory(device: str) -> dict:
    if device == "cuda" and torch.cuda.is_available():
        return {"peak_memory_bytes": int(torch.cuda.max_memory_allocated()), "peak_memory_kind": "cuda_allocated"}
    # ru_maxrss: kilobytes on Linux, bytes on macOS; the whole process's peak, loading and measuring included
    scale = 1 if sys.platform == "darwin" else 1024
    return {"peak_memory_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, "peak_memory_kind": "process_rss"}


def fit(trainer, place: TrainPlace) -> dict:
    """Train (resuming from the last checkpoint), log the curve, and return what the manifest records."""
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(_StepLog(place))
    resume = last_checkpoint(place.checkpoint_dir)
    resumed_step = int(Path(resume).name.rsplit("-", 1)[1]) if resume else 0
    _keep_curve_until(place, resumed_step)
    if place.device == "cuda" and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    if resume:
        place.log.info(f"  resuming {place.phase} from step {resumed_step} ({resume})")
    started = time.time()
    result = trainer.train(resume_from_checkpoint=resume)
    wall = time.time() - started
    state = trainer.state
    losses = [entry["loss"] for entry in state.log_history if "loss" in entry]
    tokens = int(state.num_input_tokens_seen)
    session_tokens = tokens - int(getattr(trainer, "_initial_num_input_tokens_seen", 0) or 0)
    return {
        "train_steps": state.global_step,
        "train_loss_first": losses[0] if losses else None,
        "train_loss_final": losses[-1] if losses else None,
        "train_tokens": tokens,
        "train_tokens_per_s": round(session_tokens / wall, 1) if wall > 0 else None,
        "train_runtime_s": round(result.metrics.get("train_runtime", wall), 3),
        "resumed_from_step": resumed_step,
        **_peak_memory(place.device),
    }


def train_text(model, tokenizer, texts: list[str], *, seq_len: int, optim: OptimConfig, place: TrainPlace, lora: LoraConfig | None = None):
    """Causal LM training on raw text: documents joined with EOS and cut into `seq_len` blocks (trl's "wrapped"
    packing; no padding, every token trains). With `lora`, an adapter is trained instead of every weight.
    Returns (the trained model, a peft model when `lora` is given, and the summary)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        **training_arguments(optim, place), max_length=seq_len, packing=True, packing_strategy="wrapped", dataset_text_field="text"
    )
    # the adapter's A matrices are drawn when the trainer wraps the model: seed first, or the init depends on
    # whatever ran earlier in the process (and differs across processes)
    set_seed(place.seed)
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict({"text": texts}), processing_class=tokenizer,
        peft_config=peft_lora_config(lora) if lora is not None else None,
    )  # fmt: skip
    summary = fit(trainer, place)
    return trainer.model, summary


def train_chats(model, tokenizer, conversations: list[list[dict]], *, lora: LoraConfig, optim: OptimConfig, max_length: int, place: TrainPlace):
    """LoRA SFT on whole conversations (OpenAI `messages`), loss on assistant tokens only; (peft model, summary).

    The conversations are tokenized here, with the assistant mask from `steep.model.chat_mask`, so the model's own
    template trains as it is: trl's `assistant_only_loss` needs `{% generation %}` markers, which real templates
    lack. trl builds the labels from the mask (-100 elsewhere) and truncates to `max_length`."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from steep.model.chat_mask import tokenize_conversation

    rows = [tokenize_conversation(tokenizer, conversation) for conversation in conversations]
    args = SFTConfig(**training_arguments(optim, place), max_length=max_length, packing=False)
    set_seed(place.seed)
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
        peft_config=peft_lora_config(lora),
    )  # fmt: skip
    summary = fit(trainer, place)
    return trainer.model, summary


def train_dpo(
    policy, tokenizer, pairs: list[dict], *, lora: LoraConfig, optim: OptimConfig, beta: float, max_length: int, place: TrainPlace,
    reference: str = "input", sft_loss_weight: float = 0.0,
):
    """DPO on `{prompt, chosen, rejected}` rows (messages form) with core trl's DPOTrainer; (peft model, summary).

    A plain model gets a new LoRA adapter; a policy that already carries one keeps training it. The reference:
    `input`, the same weights with the adapter disabled (the stage's input model, no second copy in memory);
    `previous_round`, a frozen copy of the adapter as it was when this call began (trl names it "ref"; for a
    fresh adapter both are the input model). `sft_loss_weight` > 0 adds the chosen answers' NLL to the loss
    (trl's `sft` loss beside `sigmoid`: RPO), which keeps a small policy's format and length while it moves."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    losses = {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, sft_loss_weight]} if sft_loss_weight > 0 else {}
    args = DPOConfig(**training_arguments(optim, place), beta=beta, max_length=max_length, **losses)
    set_seed(place.seed)
    peft_config = None if hasattr(policy, "peft_config") else peft_lora_config(lora)
    trainer = DPOTrainer(model=policy, args=args, train_dataset=Dataset.from_list(pairs), processing_class=tokenizer, peft_config=peft_config)
    # trl copies an existing adapter into a frozen "ref" adapter and uses it as the reference; without one it
    # disables the adapter instead. Deleting the copy makes the reference the input model.
    if reference == "input" and "ref" in trainer.model.peft_config:
        trainer.model.delete_adapter("ref")
    summary = fit(trainer, place)
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    summary["reward_margin_final"] = logged[-1].get("rewards/margins") if logged else None
    summary["reward_accuracy_final"] = logged[-1].get("rewards/accuracies") if logged else None
    model = trainer.model
    if "ref" in model.peft_config:  # the reference copy is not part of the policy: never saved with it
        model.delete_adapter("ref")
    return model, summary


def combine_summaries(summaries: list[dict]) -> dict:
    """One manifest summary for several training runs (dpo's rounds): tokens and time add up, memory peaks."""
    trained = [s for s in summaries if "train_tokens" in s]
    if not trained:
        return {}
    tokens = sum(s["train_tokens"] for s in trained)
    runtime = sum(s["train_runtime_s"] for s in trained)
    return {
        "train_steps": sum(s["train_steps"] for s in trained),
        "train_tokens": tokens,
        "train_tokens_per_s": round(tokens / runtime, 1) if runtime > 0 else None,
        "train_runtime_s": round(runtime, 3),
        "peak_memory_bytes": max(s["peak_memory_bytes"] for s in trained),
        "peak_memory_kind": trained[-1]["peak_memory_kind"],
    }
