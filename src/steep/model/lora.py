"""LoRA on top of peft: steep's small `LoraConfig` turned into peft's, and the parameter counts manifests record."""

from __future__ import annotations

from steep.model.config import LoraConfig


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
