"""A user's own model directory whose chat template has no `{% generation %}` markers trains in sft unedited:
the template is kept (not replaced by steep's ChatML), its hash runs from base through sft, and the loss falls
on the assistant's tokens only (tiny model; the real SmolLM2 template is in tests/unit/test_gguf_import.py)."""

from __future__ import annotations

import hashlib

import pytest

from steep.artifacts import read_manifest
from steep.model.load import load_tokenizer
from steep.pipeline.config import validate_pipeline_config
from steep.pipeline.runner import run_pipeline
from tests.tiny import make_tiny_model_dir
from tests.unit.test_chat_mask import SMOLLM2_TEMPLATE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_template_run(demo_data, tmp_path_factory):
    model_dir = make_tiny_model_dir(tmp_path_factory.mktemp("own") / "model")
    tokenizer = load_tokenizer(str(model_dir))
    tokenizer.chat_template = SMOLLM2_TEMPLATE
    tokenizer.save_pretrained(model_dir)
    run_dir = model_dir.parent / "run"
    d = demo_data
    raw = {
        "run_dir": str(run_dir),
        "device": "cpu",
        "base": {"path": str(model_dir)},
        "sft": {
            "train": str(d / "sft_train.jsonl"), "heldout": str(d / "sft_heldout.jsonl"), "format_pattern": r"Answer: .+", "max_heldout": 2,
            "lora": {"r": 4, "alpha": 8}, "optim": {"max_steps": 3, "batch_size": 4},
            "generation": {"max_new_tokens": 8, "temperature": 0.0},
        },
    }  # fmt: skip
    run_pipeline(validate_pipeline_config(raw))
    return run_dir


def test_the_models_own_template_is_kept_and_its_hash_is_in_lineage(own_template_run):
    expected = hashlib.sha256(SMOLLM2_TEMPLATE.encode()).hexdigest()
    assert read_manifest(own_template_run / "base")["metrics"]["chat_template_sha256"] == expected
    assert read_manifest(own_template_run / "sft")["metrics"]["chat_template_sha256"] == expected
    assert (own_template_run / "sft" / "chat_template.jinja").read_text() == SMOLLM2_TEMPLATE
    assert load_tokenizer(str(own_template_run / "sft" / "model")).chat_template == SMOLLM2_TEMPLATE


def test_sft_trained_on_the_markerless_template(own_template_run):
    metrics = read_manifest(own_template_run / "sft")["metrics"]
    assert metrics["train_steps"] == 3 and metrics["train_loss_final"] > 0 and metrics["train_tokens"] > 0
