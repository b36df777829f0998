"""Loading a model and its tokenizer: from a local Hugging Face directory, a hub id, or a directory steep wrote.

    model = load_model("runs/demo/sft/model", device="cpu")
    tokenizer = load_tokenizer("runs/demo/sft/model")
    model, tokenizer = load_stage_model(ctx, lora)     # in a stage: its `model` input

One loading path serves every source; later stages always load from the directory the previous stage wrote (a
hub model at the revision the base stage pinned). Failures name the model and whether it was read as a local
directory or a hub id. `load_in_4bit` (QLoRA) is honoured here, for every stage that asks for it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from steep.model.config import LoraConfig


def resolve_device(requested: str) -> str:
    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def resolve_dtype(requested: str, device: str) -> torch.dtype:
    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


class ModelLoadError(RuntimeError):
    pass


def _explain_load_failure(model_ref: str, error: Exception) -> ModelLoadError:
    where = "local directory" if Path(model_ref).exists() else "hub id (no such local directory)"
    return ModelLoadError(f"cannot load model {model_ref!r} as a {where}: {type(error).__name__}: {error}")


def load_tokenizer(model_ref: str, revision: str | None = None) -> PreTrainedTokenizerBase:
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_ref, revision=revision)
    except (OSError, ValueError) as error:
        raise _explain_load_failure(model_ref, error) from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model_ref: str, device: str, dtype: str = "auto", revision: str | None = None, load_in_4bit: bool = False):
    """Load a causal LM from a local directory or a hub id, onto `device`, in train-ready float precision.

    `load_in_4bit` (QLoRA) holds the frozen weights in NF4 through bitsandbytes; that needs CUDA, so anywhere else
    it fails here, before any data is read, naming the setting to change."""
    extra: dict = {}
    if load_in_4bit:
        extra["quantization_config"] = qlora_quantization_config(device, resolve_dtype(dtype, device))
        extra["device_map"] = {"": torch.cuda.current_device()}
    try:
        model = AutoModelForCausalLM.from_pretrained(model_ref, revision=revision, dtype=resolve_dtype(dtype, device), **extra)
    except (OSError, ValueError) as error:
        raise _explain_load_failure(model_ref, error) from error
    if load_in_4bit:
        from peft import prepare_model_for_kbit_training

        return prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    return model.to(device)


def qlora_quantization_config(device: str, compute_dtype: torch.dtype):
    """bitsandbytes NF4 with double quantization (the QLoRA paper's recipe), or a ModelLoadError saying why not."""
    if device != "cuda" or not torch.cuda.is_available():
        raise ModelLoadError(
            f"lora.load_in_4bit (QLoRA) needs a CUDA GPU, and this stage runs on device={device!r}; "
            "set lora.load_in_4bit: false (plain LoRA in full precision) or run on a CUDA machine"
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ModelLoadError("lora.load_in_4bit (QLoRA) needs bitsandbytes: pip install bitsandbytes") from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute_dtype
    )


def load_stage_model(ctx, lora: LoraConfig | None = None, input_name: str = "model"):
    """(model, tokenizer) of a stage's model input, at the revision the base stage pinned, in 4-bit when `lora`
    asks for QLoRA. Chat stages then prove the template with `steep.model.template.check_chat_template`."""
    source = ctx.inputs[input_name]
    tokenizer = load_tokenizer(source.path, revision=source.revision)
    load_in_4bit = lora is not None and lora.load_in_4bit
    model = load_model(source.path, ctx.device, ctx.dtype, revision=source.revision, load_in_4bit=load_in_4bit)
    return model, tokenizer


def load_chat_model(ctx, lora: LoraConfig | None = None):
    """`load_stage_model` for the chat stages (sft, dpo, rs): (model, tokenizer, the proved template's sha256)."""
    from steep.model.template import check_chat_template, ensure_chat_template

    model, tokenizer = load_stage_model(ctx, lora)
    if ensure_chat_template(tokenizer, model):
        ctx.log.info("the model has no chat template: using steep's ChatML default (steep.model.template)")
    return model, tokenizer, check_chat_template(tokenizer)
