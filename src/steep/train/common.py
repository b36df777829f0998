"""What every training stage shares: device, model and tokenizer loading, the chat template, LoRA, trainer args.

One loading path serves all three base-model sources: a local Hugging Face directory, a hub id (on machines that
reach a hub), or a directory that `steep.train.base` built from scratch. Later stages always load from the
directory the previous stage wrote.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from steep.config import LoraConfig, OptimConfig

# ChatML with `{% generation %}` markers: trl's `assistant_only_loss` reads them to put the loss on assistant
# tokens only. The template is a single artifact: saved with the tokenizer, hashed in every manifest from sft on.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CHATML_SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>")


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


def ensure_chat_template(tokenizer, model=None) -> bool:
    """Give a base model that has no chat template steep's ChatML one; return True if the tokenizer changed.

    Base checkpoints often ship without a template. Adding ChatML's two special tokens grows the embedding
    matrix, so the model (when given) is resized to match.
    """
    if tokenizer.chat_template:
        return False
    missing = [token for token in CHATML_SPECIAL_TOKENS if token not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": list(missing)})
        if model is not None:
            model.resize_token_embeddings(len(tokenizer))
    tokenizer.chat_template = CHATML_TEMPLATE
    return True


def chat_template_sha256(tokenizer) -> str:
    template = tokenizer.chat_template or ""
    return hashlib.sha256(template.encode("utf-8")).hexdigest()


def end_of_turn_ids(tokenizer) -> list[int]:
    """Token ids that end an assistant turn: eos plus ChatML's `<|im_end|>` when the vocabulary has it."""
    ids = {tokenizer.eos_token_id}
    vocab = tokenizer.get_vocab()
    if "<|im_end|>" in vocab:
        ids.add(vocab["<|im_end|>"])
    return sorted(i for i in ids if i is not None)


def peft_lora_config(lora: LoraConfig):
    from peft import LoraConfig as PeftLoraConfig

    return PeftLoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        modules_to_save=list(lora.modules_to_save) or None,
        # keeps a tied lm_head the same tensor as embed_tokens when both are trained in full
        ensure_weight_tying=bool(lora.modules_to_save),
        use_rslora=lora.variant == "rslora",
        use_dora=lora.variant == "dora",
        task_type="CAUSAL_LM",
    )


def trainable_parameters(model) -> dict:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable_params": trainable, "total_params": total, "trainable_pct": round(100.0 * trainable / total, 4)}


def trainer_arguments(optim: OptimConfig, output_dir: Path, seed: int, device: str) -> dict:
    """Keyword arguments shared by trl's SFTConfig and DPOConfig, from steep's small optimizer config."""
    if optim.liger_kernel:
        import importlib.util

        if importlib.util.find_spec("liger_kernel") is None:
            raise ModelLoadError("optim.liger_kernel needs the Liger kernels: pip install liger-kernel (CUDA only)")
    return dict(
        output_dir=str(output_dir),
        learning_rate=optim.learning_rate,
        num_train_epochs=optim.epochs,
        max_steps=optim.max_steps,
        per_device_train_batch_size=optim.batch_size,
        gradient_accumulation_steps=optim.grad_accum,
        warmup_steps=optim.warmup_ratio,  # transformers 5 reads a float in [0, 1) as a ratio of total steps
        weight_decay=optim.weight_decay,
        lr_scheduler_type=optim.lr_scheduler,
        max_grad_norm=optim.max_grad_norm,
        seed=seed,
        data_seed=seed,
        logging_steps=10,
        save_strategy="no",
        report_to=[],  # nothing phones home: no wandb, no hub
        use_cpu=device == "cpu",
        bf16=device == "cuda" and torch.cuda.is_bf16_supported(),
        dataloader_num_workers=0,
        disable_tqdm=True,
        use_liger_kernel=optim.liger_kernel,
        torch_compile=optim.torch_compile,
    )


@torch.no_grad()
def bits_per_byte(model, tokenizer, texts: list[str], seq_len: int, device: str, batch_size: int = 8) -> float:
    """Held-out bits per byte: total next-token NLL (nats) / ln 2 / UTF-8 bytes.

    Bytes, not tokens, so models with different tokenizers (or a tokenizer that grew) compare fairly. Each text
    is cut into windows of `seq_len` tokens; the first token of each window is context only, so a few tokens
    per window go unscored: the same for every model evaluated on the same tokenizer.
    """
    model.eval()
    windows: list[list[int]] = []
    total_bytes = 0
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) < 2:
            continue
        total_bytes += len(text.encode("utf-8"))
        for start in range(0, len(ids) - 1, seq_len):
            window = ids[start : start + seq_len + 1]
            if len(window) >= 2:
                windows.append(window)
    total_nll = 0.0
    for begin in range(0, len(windows), batch_size):
        batch = windows[begin : begin + batch_size]
        width = max(len(w) for w in batch)
        input_ids = torch.full((len(batch), width), tokenizer.pad_token_id or 0, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, window in enumerate(batch):
            input_ids[row, : len(window)] = torch.tensor(window)
            mask[row, : len(window)] = 1
        input_ids, mask = input_ids.to(device), mask.to(device)
        logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
        targets = input_ids[:, 1:]
        token_nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        total_nll += float((token_nll * mask[:, 1:]).sum())
    if total_bytes == 0:
        raise ValueError("bits_per_byte: no held-out text long enough to score")
    return total_nll / math.log(2) / total_bytes


class ChatTemplateError(ValueError):
    pass


def check_chat_template(tokenizer) -> str:
    """Round-trip the chat template before training on it; return its sha256.

    Renders a two-turn conversation, asks for the assistant-token mask that `{% generation %}` marks, and checks
    that the masked tokens decode to exactly the assistant messages. A template whose mask is off by a token
    would silently train on the user's words (or miss the end-of-turn token, and the model never stops).
    """
    messages = [
        {"role": "system", "content": "You are a test."},
        {"role": "user", "content": "First question?"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "Second question?"},
        {"role": "assistant", "content": "Second answer."},
    ]
    try:
        encoded = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    except Exception as error:  # jinja errors come in many classes
        raise ChatTemplateError(f"the chat template cannot render a conversation: {error}") from error
    ids, mask = encoded["input_ids"], encoded.get("assistant_masks")
    if not mask or not any(mask):
        raise ChatTemplateError("the chat template has no {% generation %} markers: loss could not be limited to assistant turns")
    masked = tokenizer.decode([token for token, keep in zip(ids, mask) if keep], skip_special_tokens=False)
    for turn in ("First answer.", "Second answer."):
        if turn not in masked:
            raise ChatTemplateError(f"assistant text {turn!r} is not inside the assistant mask: {masked!r}")
    for leaked in ("First question?", "You are a test."):
        if leaked in masked:
            raise ChatTemplateError(f"non-assistant text {leaked!r} falls inside the assistant mask")
    return chat_template_sha256(tokenizer)


def compact_progress(trainer) -> None:
    """Replace trainer's dict-per-log printing with one short line per logging step."""
    from transformers import PrinterCallback, TrainerCallback

    class CompactProgress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                print(f"    step {state.global_step}/{state.max_steps}  loss {float(logs['loss']):.4f}", flush=True)

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(CompactProgress())


def base_revision(ctx, input_name: str = "model") -> str | None:
    """`base.revision` when the input is the base model itself (a hub id pinned to a revision), else None."""
    return ctx.config.base.revision if ctx.inputs[input_name].from_stage == "base" else None


def load_stage_model(ctx, lora: LoraConfig | None = None):
    """The model a training stage starts from, its tokenizer, and the checked chat template's sha256."""
    model_ref = ctx.input_path("model")
    tokenizer = load_tokenizer(model_ref, revision=base_revision(ctx))
    template_sha = check_chat_template(tokenizer)
    load_in_4bit = lora is not None and lora.load_in_4bit
    model = load_model(model_ref, ctx.device, ctx.config.base.dtype, revision=base_revision(ctx), load_in_4bit=load_in_4bit)
    return model, tokenizer, template_sha
