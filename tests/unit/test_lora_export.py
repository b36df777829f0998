"""LoRA variants, the QLoRA guard off CUDA, and the merge export's parity check, on the tiny model (`tests/tiny.py`)."""

from __future__ import annotations

import pytest
import torch
from peft import get_peft_model

from steep.model.config import LoraConfig
from steep.model.export import MergeParityError, adapter_size_bytes, merge_with_parity_check
from steep.model.load import ModelLoadError, load_model, load_tokenizer
from steep.model.lora import peft_lora_config
from tests.tiny import ARCH


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(str(tiny_model_dir))


@pytest.fixture
def adapted(tiny_model_dir):
    def adapted(**lora_fields):
        """The tiny model with an adapter whose B matrices are non-zero, so the adapter actually changes the logits."""
        model = load_model(str(tiny_model_dir), "cpu")
        peft_model = get_peft_model(model, peft_lora_config(LoraConfig(r=4, alpha=8, **lora_fields)))
        torch.manual_seed(1)
        with torch.no_grad():
            for name, param in peft_model.named_parameters():
                if "lora_B" in name:
                    param.normal_(std=0.5)
        return peft_model

    return adapted


def _probe_logits(model):
    ids = torch.arange(10).unsqueeze(0)
    with torch.no_grad():
        return model(input_ids=ids).logits


@pytest.mark.parametrize("variant", ["lora", "rslora", "dora"])
def test_merge_keeps_the_function_for_every_variant(adapted, tokenizer, tmp_path, variant):
    peft_model = adapted(variant=variant, modules_to_save=["embed_tokens", "lm_head"])
    peft_model.eval()
    with_adapter = _probe_logits(peft_model)
    with peft_model.disable_adapter():
        base_only = _probe_logits(peft_model)
    assert (with_adapter - base_only).abs().max() > 1e-2  # the adapter matters, so parity below means something

    parity = merge_with_parity_check(peft_model, tokenizer, tmp_path / "model")

    assert parity["merge_parity_rel_diff"] <= 1e-4
    reloaded = load_model(str(tmp_path / "model"), "cpu")
    torch.testing.assert_close(_probe_logits(reloaded), with_adapter, atol=1e-4, rtol=1e-4)


def test_variants_reach_peft():
    assert peft_lora_config(LoraConfig(variant="rslora")).use_rslora is True
    dora = peft_lora_config(LoraConfig(variant="dora"))
    assert dora.use_dora is True and dora.use_rslora is False


def test_broken_merge_is_refused_and_nothing_is_written(adapted, tokenizer, tmp_path, monkeypatch):
    peft_model = adapted()
    real_merge = peft_model.merge_and_unload

    def merge_that_goes_wrong():  # a buggy merge: weights that no longer compute what the adapter did
        merged = real_merge()
        with torch.no_grad():
            for module in merged.modules():
                if isinstance(module, torch.nn.Linear) and module.out_features == ARCH.hidden_size:
                    module.weight.add_(0.3)
        return merged

    monkeypatch.setattr(peft_model, "merge_and_unload", merge_that_goes_wrong)
    with pytest.raises(MergeParityError, match="nothing was written"):
        merge_with_parity_check(peft_model, tokenizer, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_adapter_size_counts_the_adapter_files(adapted, tmp_path):
    peft_model = adapted()
    peft_model.save_pretrained(tmp_path / "adapter")
    size = adapter_size_bytes(tmp_path / "adapter")
    weights = (tmp_path / "adapter" / "adapter_model.safetensors").stat().st_size
    assert weights < size < weights + 10_000  # weights plus adapter_config.json


def test_qlora_off_cuda_fails_before_loading_naming_the_setting(tmp_path):
    with pytest.raises(ModelLoadError, match=r"lora.load_in_4bit.*needs a CUDA GPU.*device='cpu'"):
        load_model(str(tmp_path / "never-read"), "cpu", load_in_4bit=True)
