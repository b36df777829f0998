"""`steep export RUN_DIR --to DIR`: the run's merged model as a plain Hugging Face directory, its LoRA adapters
checked for vLLM, and the exact `vllm serve` command, written to DIR/vllm_serve.sh and printed.

    steep export runs/demo --to exports/demo --adapter support=runs/support/sft/adapter
    bash exports/demo/vllm_serve.sh

Layout: DIR/model/ (the final merged model, copied), DIR/adapters/<name>/ (each plain LoRA, copied),
DIR/merged/<name>/ (an adapter vLLM refuses, DoRA or `modules_to_save`, merged into the model instead, its logits
parity-checked), DIR/export.json (what went where and why). Every adapter must have been trained on this run's
final model (the base vLLM loads them on); export.json records the base each adapter names.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from steep.stages import STAGE_ORDER


def final_model_dir(run_dir: Path) -> tuple[Path, str]:
    """The run's served model (serve.json) or else the last stage's merged `model/` directory; and its name."""
    served = Path(run_dir) / "serve" / "serve.json"
    if served.exists():
        record = json.loads(served.read_text())
        return Path(record["model_dir"]), record["serve"].get("model_name", "steep")
    for stage in reversed(STAGE_ORDER):
        candidate = Path(run_dir) / stage / "model"
        if (candidate / "config.json").exists():
            return candidate, "steep"
    raise FileNotFoundError(f"{run_dir}: no finished stage with a model/ directory (and no serve/serve.json)")


def _copy_dir(source: Path, target: Path) -> None:
    # Copy to a temporary name and rename: a killed export never leaves a half directory under the final name.
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def export_run(run_dir: Path, out_dir: Path, adapters: dict[str, Path] | None = None, host: str = "127.0.0.1",
               port: int = 8000) -> dict:  # fmt: skip
    """Write the export (see the module docstring); return what export.json records."""
    from steep.model.export import (
        adapter_rank,
        merge_adapter_dir,
        read_adapter_config,
        vllm_lora_problems,
        vllm_max_lora_rank,
        vllm_serve_command,
    )  # fmt: skip

    model_dir, name = final_model_dir(Path(run_dir))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _copy_dir(model_dir, out_dir / "model")
    loras: dict[str, Path] = {}
    record: dict = {"model_dir": str(out_dir / "model"), "source_model_dir": str(model_dir), "served_name": name, "adapters": {}}
    commands: list[str] = []
    for adapter_name, adapter_dir in (adapters or {}).items():
        config = read_adapter_config(Path(adapter_dir))
        problems = vllm_lora_problems(config)
        entry = {"source": str(adapter_dir), "trained_on": config.get("base_model_name_or_path"), "rank": adapter_rank(config)}
        if problems:
            merged = out_dir / "merged" / adapter_name
            entry |= {"vllm_lora": False, "why": "; ".join(problems), "merged_into": str(merged)}
            entry |= merge_adapter_dir(out_dir / "model", Path(adapter_dir), merged)
            entry["vllm_serve"] = vllm_serve_command(merged, adapter_name, {}, None, host, port + 1 + len(commands))
            commands.append(f"# {adapter_name}: vLLM cannot load it as a LoRA ({entry['why']}); it was merged. Serve it "
                            f"from another shell:\n# {entry['vllm_serve']}")  # fmt: skip
        else:
            target = out_dir / "adapters" / adapter_name
            _copy_dir(Path(adapter_dir), target)
            loras[adapter_name] = target
            entry |= {"vllm_lora": True, "path": str(target)}
        record["adapters"][adapter_name] = entry
    max_rank = vllm_max_lora_rank(max(adapter_rank(read_adapter_config(p)) for p in loras.values())) if loras else None
    main = vllm_serve_command(out_dir / "model", name, loras, max_rank, host, port)
    record["vllm_serve"] = main
    script = "#!/bin/sh\n# Written by `steep export`; the model and adapters load without steep installed.\n" + "\n".join([main, *commands]) + "\n"
    (out_dir / "vllm_serve.sh").write_text(script)
    (out_dir / "export.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
