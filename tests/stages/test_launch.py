"""sft across 2 CPU processes (accelerate launch, gloo) ends where 1 process ends with the same global batch.

Tolerance: the two runs see the same samples in the same steps; they differ in how the gradient is summed (two
per-rank means all-reduced vs one mean), i.e. float rounding only. We allow 1e-3 relative on the held-out loss and
1e-3 absolute on the adapter weights: orders of magnitude below what one different step would move them (checked
by the last assertion).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from peft import PeftModel

from steep.model.config import LoraConfig
from steep.model.load import load_model, load_tokenizer
from steep.trainer.config import LaunchConfig, OptimConfig
from steep.trainer.core import TrainPlace, train_chats
from steep.trainer.launch import LaunchError, accelerate_command, launch_lora_on_chats

CHATS = [
    [
        {"role": "user", "content": f"What is the deductible on policy {i}?"},
        {"role": "assistant", "content": f"Answer: the deductible is {i * 10 + 50} euros.\nSource: POL-{2000 + i}"},
    ]
    for i in range(32)
]
LORA = LoraConfig(r=4, alpha=8)
STEPS = 6
ACCELERATE_CONFIGS = sorted((Path(__file__).parents[2] / "examples" / "accelerate").glob("*.yaml"))
LOG = logging.getLogger("steep.test_launch")


def _loss(model, tokenizer) -> float:
    texts = [tokenizer.apply_chat_template(chat, tokenize=False) for chat in CHATS[:8]]
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    model.eval()
    with torch.no_grad():
        return model(**batch, labels=labels).loss.item()


def _lora_weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters() if "lora_" in k}


def test_two_gloo_processes_match_one_process(tiny_model_dir, tmp_path):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    base_loss = _loss(load_model(str(tiny_model_dir), "cpu"), tokenizer)

    (tmp_path / "one").mkdir()
    one, _ = train_chats(
        load_model(str(tiny_model_dir), "cpu"), tokenizer, CHATS, lora=LORA,
        optim=OptimConfig(learning_rate=3e-2, batch_size=8, max_steps=STEPS, checkpoint_steps=0), max_length=64,
        place=TrainPlace(tmp_path / "one" / "checkpoints", tmp_path / "one" / "metrics.jsonl", seed=0, device="cpu"),
    )  # fmt: skip
    adapter_dir, metrics = launch_lora_on_chats(
        model_ref=str(tiny_model_dir), revision=None, dtype="float32", conversations=CHATS, lora=LORA,
        optim=OptimConfig(learning_rate=3e-2, batch_size=4, max_steps=STEPS, checkpoint_steps=0),
        max_length=64, work_dir=tmp_path / "two", metrics_path=tmp_path / "two" / "metrics.jsonl", seed=0, device="cpu",
        launch=LaunchConfig(num_processes=2), log=LOG,
    )  # fmt: skip
    two = PeftModel.from_pretrained(load_model(str(tiny_model_dir), "cpu"), adapter_dir)

    assert metrics["train_steps"] == STEPS and metrics["train_runtime_s"] > 0  # rank 0 wrote its summary back
    # rank 0 alone writes the stage's curve: one row per step, as the single-process run writes
    rows = [json.loads(line) for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == list(range(1, STEPS + 1))
    one_loss, two_loss = _loss(one, tokenizer), _loss(two, tokenizer)
    assert abs(one_loss - base_loss) > 0.05  # training moved the model, so agreement below is not trivial
    assert two_loss == pytest.approx(one_loss, rel=1e-3)
    one_w, two_w = _lora_weights(one), _lora_weights(two)
    assert one_w.keys() == two_w.keys() and one_w
    for name in one_w:
        torch.testing.assert_close(two_w[name], one_w[name], atol=1e-3, rtol=0, msg=lambda m, name=name: f"{name}: {m}")


def test_failed_launch_reports_the_workers_output(tmp_path):
    with pytest.raises(LaunchError, match=r"exited with status \d+; first error: .*Error.*not-a-model.*workers.log"):
        launch_lora_on_chats(
            model_ref=str(tmp_path / "not-a-model"), revision=None, dtype="float32", conversations=CHATS[:4], lora=LORA,
            optim=OptimConfig(batch_size=2, max_steps=1, checkpoint_steps=0), max_length=64,
            work_dir=tmp_path / "w", metrics_path=tmp_path / "w" / "metrics.jsonl", seed=0, device="cpu",
            launch=LaunchConfig(num_processes=2), log=LOG,
        )  # fmt: skip


@pytest.mark.parametrize("config", ACCELERATE_CONFIGS, ids=lambda p: p.stem)
def test_shipped_accelerate_configs_load_and_launch_with_our_process_count(config):
    from accelerate.commands.config.config_args import load_config_from_file

    loaded = load_config_from_file(str(config))
    assert loaded.distributed_type.value in {"MULTI_GPU", "FSDP", "DEEPSPEED"}
    command = accelerate_command(LaunchConfig(num_processes=4, accelerate_config=config), "cuda", Path("job.json"))
    assert command[command.index("--num_processes") + 1] == "4"
    assert command[command.index("--config_file") + 1] == str(config)
    assert command[-3:] == ["-m", "steep.trainer.launch", "job.json"]


def test_expected_configs_are_shipped():
    assert {p.stem for p in ACCELERATE_CONFIGS} == {"ddp", "fsdp", "deepspeed_zero2", "deepspeed_zero3"}
