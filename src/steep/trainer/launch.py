"""Multi-process training through `accelerate launch`, with the steep process staying the only writer of a stage.

The stage (parent) writes a job file and runs

    python -m accelerate.commands.launch --num_processes N [--config_file F] -m steep.trainer.launch JOB.json   (GPUs)
    python -m torch.distributed.run --standalone --nproc_per_node N -m steep.trainer.launch JOB.json        (CPUs, gloo)

Every worker loads the model, trains with the same function the single-process path uses (`train_chats`:
the HF Trainer shards batches and averages gradients across ranks), and rank 0 saves the adapter and the train
metrics into the job's `out_dir`. The parent then loads that adapter onto its own copy of the model and finishes
the stage as usual (held-out metric, merge with parity check, manifest). A worker failure fails the stage with the
workers' last output lines.

Batch semantics: `optim.batch_size` is per process, so N processes train with a global batch N times larger, as in
any DDP setup; a 2-process run with batch 4 matches a 1-process run with batch 8 (tests/stages/test_launch.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import deque
from pathlib import Path

from steep.log import get_logger
from steep.model.config import LoraConfig
from steep.trainer.config import LaunchConfig, OptimConfig

JOB_FILE = "job.json"
ADAPTER_DIR = "adapter"
METRICS_FILE = "train_metrics.json"
LOG_FILE = "workers.log"
# a Python exception line: `ModelLoadError: ...`, `torch.OutOfMemoryError: ...`
_ERROR_LINE = re.compile(r"^[\w.]*(Error|Exception|Interrupt)\b.*:")
_TAIL_LINES = 40


class LaunchError(RuntimeError):
    pass


def accelerate_command(launch: LaunchConfig, device: str, job_path: Path) -> list[str]:
    """The command that starts the worker processes.

    GPUs (or any `accelerate_config`): `accelerate launch`. CPUs without a config: `torch.distributed.run`, which
    starts N local ranks that the Trainer joins over gloo; `accelerate launch --cpu` would start a single process
    (its multi-CPU path needs an MPI hostfile), so N copies would never meet and each would train alone."""
    worker = ["-m", "steep.trainer.launch", str(job_path)]
    port = [] if launch.main_process_port is None else [str(launch.main_process_port)]
    if device == "cpu" and launch.accelerate_config is None:
        rendezvous = ["--master_port", *port] if port else ["--standalone"]
        return [sys.executable, "-m", "torch.distributed.run", *rendezvous, "--nproc_per_node", str(launch.num_processes), *worker]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(launch.num_processes)]
    if launch.accelerate_config is not None:
        command += ["--config_file", str(launch.accelerate_config)]
    else:
        command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--multi_gpu"]
    if port:
        command += ["--main_process_port", *port]
    return [*command, *worker]


def launch_lora_on_chats(
    *,
    model_ref: str,
    revision: str | None,
    dtype: str,
    conversations: list[list[dict]],
    lora: LoraConfig,
    optim: OptimConfig,
    max_length: int,
    work_dir: Path,
    metrics_path: Path,
    seed: int,
    device: str,
    launch: LaunchConfig,
    log=get_logger("trainer"),
) -> tuple[Path, dict]:
    """Train a LoRA adapter on `conversations` in `launch.num_processes` processes; return (adapter dir, metrics)."""
    out_dir = Path(work_dir) / "launch"
    out_dir.mkdir(parents=True, exist_ok=True)
    train_file = out_dir / "conversations.jsonl"
    train_file.write_text("".join(json.dumps({"messages": c}, ensure_ascii=False) + "\n" for c in conversations), encoding="utf-8")
    job = {
        "model": model_ref,
        "revision": revision,
        "dtype": dtype,
        "train_file": str(train_file),
        "lora": lora.model_dump(mode="json"),
        "optim": optim.model_dump(mode="json"),
        "max_length": max_length,
        # checkpoints live in the stage's work dir, so a killed multi-process run resumes like a single one
        "work_dir": str(work_dir),
        "metrics_path": str(metrics_path),
        "seed": seed,
        "device": device,
        "out_dir": str(out_dir),
    }
    job_path = out_dir / JOB_FILE
    job_path.write_text(json.dumps(job, indent=2), encoding="utf-8")
    command = accelerate_command(launch, device, job_path)
    log.info(f"launching {launch.num_processes} training processes: {' '.join(command[1:])}")
    _run(command, out_dir / LOG_FILE)
    metrics_path = out_dir / METRICS_FILE
    if not metrics_path.is_file():
        raise LaunchError(f"training processes finished but rank 0 wrote no {metrics_path}")
    return out_dir / ADAPTER_DIR, json.loads(metrics_path.read_text(encoding="utf-8"))


def _run(command: list[str], log_path: Path) -> None:
    """Run the workers, keeping their whole output in `log_path`; on failure raise with the first worker error
    (the launcher's own summary comes last and hides it) and the last lines."""
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    first_error = None
    # one thread per rank unless the user set it: N ranks each using every core would oversubscribe the CPU
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with (
        open(log_path, "w", encoding="utf-8") as log_file,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            log_file.write(line)
            line = line.rstrip("\n")
            tail.append(line)
            if first_error is None and _ERROR_LINE.match(line):
                first_error = line
        code = proc.wait()
    if code != 0:
        raise LaunchError(
            f"training processes exited with status {code}; first error: {first_error or '(none recognised)'}; "
            f"full output: {log_path}; last lines:\n" + "\n".join(tail)
        )


def _worker(job_path: Path) -> None:
    """What each process runs: the same training function as the single-process path; rank 0 writes results."""
    from peft import PeftModel

    from steep.artifacts import read_jsonl
    from steep.model.load import load_model, load_tokenizer
    from steep.trainer.core import TrainPlace, train_chats

    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    lora = LoraConfig(**job["lora"])
    tokenizer = load_tokenizer(job["model"], revision=job["revision"])
    # QLoRA holds for every rank: each loads its frozen base in 4-bit, as the single-process path does
    model = load_model(job["model"], job["device"], job["dtype"], revision=job["revision"], load_in_4bit=lora.load_in_4bit)
    conversations = [row["messages"] for row in read_jsonl(Path(job["train_file"]))]
    place = TrainPlace(
        checkpoint_dir=Path(job["work_dir"]) / "checkpoints", metrics_path=Path(job["metrics_path"]),
        seed=job["seed"], device=job["device"],
    )  # fmt: skip
    peft_model, metrics = train_chats(
        model, tokenizer, conversations, lora=lora, optim=OptimConfig(**job["optim"]), max_length=job["max_length"], place=place
    )
    if int(os.environ.get("RANK", "0")) == 0:
        out_dir = Path(job["out_dir"])
        model_to_save = peft_model.module if not isinstance(peft_model, PeftModel) and hasattr(peft_model, "module") else peft_model
        model_to_save.save_pretrained(out_dir / ADAPTER_DIR)
        (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2, default=str), encoding="utf-8")
    _leave_process_group()


def _leave_process_group() -> None:
    """Wait for rank 0's save, then close the process group. A rank that simply exits while gloo's threads still
    run aborts ("terminate called without an active exception", SIGABRT), and torchrun fails the whole job."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m steep.trainer.launch JOB.json (written by a steep stage; not meant to be run by hand)")
    _worker(Path(sys.argv[1]))
