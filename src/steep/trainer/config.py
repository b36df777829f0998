"""The trainer's small configs: optimizer and schedule, logging, and how many processes train. Torch-free."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from steep.schema import ExistingPath, StrictModel


class OptimConfig(StrictModel):
    """Optimizer, schedule, checkpoints and logging. `max_steps` > 0 overrides `epochs` (handy to shrink a run)."""

    learning_rate: float = Field(2e-4, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, ge=-1)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    lr_scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    max_grad_norm: float = Field(1.0, gt=0)
    checkpoint_steps: int = Field(100, ge=0, description="save a resumable checkpoint every N steps; 0 = never")
    logging_steps: int = Field(1, ge=1, description="write loss and learning rate to metrics.jsonl every N steps")
    # Recompute activations in the backward pass instead of keeping them (trl's default): the memory that lets a
    # large model train on one GPU, paid for with one more forward pass. Where memory is plenty (a small model, a
    # CPU) turn it off, as examples/smollm2/pipeline.yaml does.
    gradient_checkpointing: bool = True
    # Local files by default (metrics.jsonl in the stage directory). Name a tracker to also send the curves
    # there; the tracker's own package and settings (its env vars) are the user's, steep installs none.
    report_to: list[Literal["tensorboard", "mlflow", "wandb"]] = []
    # GPU speed levers (bench/train_gpu.py measures each against plain trl). Off by default: they need CUDA
    # (liger: `pip install liger-kernel`, Triton kernels for RMSNorm, RoPE, SwiGLU and a fused linear +
    # cross-entropy that never materialises the logits; compile: torch.compile of the model). Measured on an H200
    # (bench/train_gpu_results.md): liger 1.19x plain trl for LoRA; liger + compile only 1.08x (Inductor fails on
    # Liger's kernels and falls back), so do not combine them.
    liger_kernel: bool = False
    torch_compile: bool = False


class LaunchConfig(StrictModel):
    """How a training stage runs: in this process, or across several through `accelerate launch`.

    `num_processes: 1` (default) trains in the steep process. Above 1, steep writes the job to the stage's work
    directory and runs `accelerate launch` on it; rank 0 saves the adapter and the stage goes on as usual. With
    no `accelerate_config`, processes are data-parallel (DDP: NCCL on GPUs, gloo on CPUs). For FSDP or DeepSpeed
    ZeRO point `accelerate_config` at one of `examples/accelerate/*.yaml` (or your own); its `num_processes` is
    overridden by ours so the two never disagree.
    """

    num_processes: int = Field(1, ge=1)
    accelerate_config: ExistingPath | None = None
    main_process_port: int | None = Field(None, ge=1024, le=65535)
