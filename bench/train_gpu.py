"""Training throughput on a GPU: plain trl + peft against steep's training path, LoRA and full fine-tuning.

    python bench/train_gpu.py                          # Llama-3.2-1B shape, bf16, seq 2048, batch 8 (an H200)
    python bench/train_gpu.py --shape tiny --steps 3   # the same code on a CPU in seconds (a smoke check)

All runs happen in ONE process, one after another, on the same random-weight model shape (throughput does not
depend on the weights' values) and the same random token batches (full-length sequences, so no padding):

- plain_lora   what a user writes: trl `SFTTrainer` + peft `LoraConfig(r=16, target_modules="all-linear")`, defaults
- steep_lora   steep's path: `steep.trainer.core.training_arguments` + `steep.model.lora.peft_lora_config`, then each speed lever
               added in turn (`--levers`, cumulative), so the table shows what each one gave
- plain_full   full fine-tuning, trl defaults
- steep_full   full fine-tuning through steep's trainer arguments with the same levers

Reported per run: tokens/s over the timed steps (after `--warmup` untimed steps; each step is timed between CUDA
synchronisations), MFU and peak allocated memory. MFU = tokens/s x FLOPs per token / `--peak-tflops`, with
FLOPs per token = 4N (LoRA: forward 2N, backward to activations 2N; the frozen weights get no weight gradient) or
6N (full) + 6 L s d (causal attention, forward and backward), N = parameters in matmuls (embedding lookup excluded,
the tied LM head included), L layers, s sequence length, d hidden size. The default 790 TFLOP/s is the measured
bf16 dense matmul ceiling of an H200 (../shared/anchors).

Writes the table and the environment to `--out` (Markdown) and prints it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import tempfile
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM, TrainerCallback

SHAPES = {
    # meta-llama/Llama-3.2-1B's config.json
    "llama-3.2-1b": dict(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, max_position_embeddings=131072, rope_theta=500000.0, tie_word_embeddings=True,
    ),
    "tiny": dict(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True,
    ),
}  # fmt: skip
LEVERS = ("liger", "cudnn_attention", "compile")


class StepTimer(TrainerCallback):
    """Wall time of each optimizer step, measured between CUDA synchronisations."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def _sync(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def on_step_begin(self, args, state, control, **kwargs):
        self._sync()
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self._sync()
        self.times.append(time.perf_counter() - self._start)


def matmul_params(config: LlamaConfig) -> int:
    d, f, layers, vocab = config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.vocab_size
    kv = config.num_key_value_heads * (d // config.num_attention_heads)
    per_layer = d * d + 2 * d * kv + d * d + 3 * d * f  # q, k, v, o, gate/up/down
    return layers * per_layer + vocab * d  # + LM head


def flops_per_token(config: LlamaConfig, seq: int, lora: bool) -> float:
    n = matmul_params(config)
    attention = 6 * config.num_hidden_layers * seq * config.hidden_size
    return (4 if lora else 6) * n + attention


def tokenizer():
    """A small offline tokenizer: the data is already token ids, the trainer only needs pad and eos from it."""
    from steep.model.tiny import build_tokenizer

    return build_tokenizer([f"sample text number {i}" for i in range(50)], vocab_size=300)


def build_dataset(config: LlamaConfig, rows: int, seq: int):
    from datasets import Dataset

    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, config.vocab_size, (rows, seq), generator=generator)
    return Dataset.from_dict({"input_ids": ids.tolist()})


def run_one(name: str, config: LlamaConfig, dataset, args, *, lora: bool, steep_levers: list[str] | None) -> dict:
    from trl import SFTConfig, SFTTrainer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(device=device, dtype=dtype)
    levers = steep_levers or []
    torch.backends.cuda.enable_cudnn_sdp("cudnn_attention" in levers)
    out_dir = tempfile.mkdtemp(prefix=f"bench-{name}-")
    total_steps = args.warmup + args.steps
    if steep_levers is None:  # the plain path: trl's defaults, only what any run needs
        train_args = SFTConfig(
            output_dir=out_dir, per_device_train_batch_size=args.batch, max_steps=total_steps, learning_rate=1e-4,
            bf16=device == "cuda", use_cpu=device == "cpu", save_strategy="no", report_to=[], max_length=args.seq,
            logging_steps=total_steps, disable_tqdm=True, dataset_num_proc=None,
        )  # fmt: skip
        peft_config = None
        if lora:
            from peft import LoraConfig

            peft_config = LoraConfig(r=16, target_modules="all-linear", task_type="CAUSAL_LM")
    else:  # steep's path: its trainer arguments and LoRA config, plus the levers asked for
        from steep.model.config import LoraConfig as SteepLora
        from steep.model.lora import peft_lora_config
        from steep.trainer.config import OptimConfig
        from steep.trainer.core import TrainPlace, training_arguments

        optim = OptimConfig(
            learning_rate=1e-4, batch_size=args.batch, max_steps=total_steps, checkpoint_steps=0,
            liger_kernel="liger" in levers, torch_compile="compile" in levers,
        )  # fmt: skip
        train_args = SFTConfig(
            **training_arguments(optim, TrainPlace(Path(out_dir), Path(out_dir) / "metrics.jsonl", seed=0, device=device)),
            max_length=args.seq,
        )
        peft_config = peft_lora_config(SteepLora(r=16, alpha=32)) if lora else None
    timer = StepTimer()
    trainer = SFTTrainer(
        model=model, args=train_args, train_dataset=dataset, processing_class=tokenizer(), peft_config=peft_config,
        callbacks=[timer],
    )  # fmt: skip
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    timed = timer.times[args.warmup :]
    tokens_per_s = args.batch * args.seq * len(timed) / sum(timed)
    result = {
        "run": name,
        "levers": ("+".join(levers) or "none") if steep_levers is not None else "-",
        "tokens_per_s": round(tokens_per_s, 1),
        "mfu": round(tokens_per_s * flops_per_token(config, args.seq, lora) / (args.peak_tflops * 1e12), 4),
        "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device == "cuda" else None,
        "step_s": round(sum(timed) / len(timed), 4),
    }
    del trainer, model
    if device == "cuda":
        torch.cuda.empty_cache()
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="llama-3.2-1b")
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (allocation, compilation)")
    parser.add_argument("--levers", default=",".join(LEVERS), help=f"steep levers, added in this order: {LEVERS}")
    parser.add_argument("--peak-tflops", type=float, default=790.0)
    parser.add_argument("--out", type=Path, default=Path("bench/train_gpu_results.md"))
    args = parser.parse_args()
    levers = [lever for lever in args.levers.split(",") if lever]
    unknown = sorted(set(levers) - set(LEVERS))
    if unknown:
        parser.error(f"unknown levers {unknown}; choose from {LEVERS}")
    cuda = torch.cuda.is_available()
    if not cuda:  # these levers are CUDA kernels; on a CPU the smoke run checks the plumbing only
        levers = [lever for lever in levers if lever not in ("liger", "cudnn_attention")]
    if "liger" in levers and importlib.util.find_spec("liger_kernel") is None:
        print("liger_kernel is not installed: skipping that lever (pip install liger-kernel)")
        levers.remove("liger")

    config = LlamaConfig(**SHAPES[args.shape])
    dataset = build_dataset(config, rows=args.batch * (args.warmup + args.steps), seq=args.seq)
    results = [run_one("plain_lora", config, dataset, args, lora=True, steep_levers=None)]
    results.append(run_one("steep_lora", config, dataset, args, lora=True, steep_levers=[]))
    for k in range(1, len(levers) + 1):
        results.append(run_one("steep_lora", config, dataset, args, lora=True, steep_levers=levers[:k]))
    results.append(run_one("plain_full", config, dataset, args, lora=False, steep_levers=None))
    results.append(run_one("steep_full", config, dataset, args, lora=False, steep_levers=levers))
    write_report(args, config, results)


def write_report(args, config: LlamaConfig, results: list[dict]) -> None:
    import transformers
    import trl

    plain_lora = next(r for r in results if r["run"] == "plain_lora")["tokens_per_s"]
    plain_full = next(r for r in results if r["run"] == "plain_full")["tokens_per_s"]
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({platform.processor() or 'x86_64'})"
    lines = [
        "# bench/train_gpu.py results",
        "",
        f"Command: `python bench/train_gpu.py --shape {args.shape} --seq {args.seq} --batch {args.batch} "
        f"--steps {args.steps} --warmup {args.warmup} --levers {args.levers}`",
        f"Device: {device}; torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}.",
        f"Model: {args.shape} shape, {matmul_params(config) / 1e9:.3f} B matmul parameters, random weights.",
        "",
        "| run | levers | tokens/s | vs plain LoRA | vs plain full | MFU | peak GiB | s/step |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['run']} | {r['levers']} | {r['tokens_per_s']:,.0f} | {r['tokens_per_s'] / plain_lora:.2f}x | "
            f"{r['tokens_per_s'] / plain_full:.2f}x | {r['mfu']:.1%} | {r['peak_mem_gib'] if r['peak_mem_gib'] is not None else '-'} "
            f"| {r['step_s']} |"
        )
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
