"""steep's small optimizer config reaches trl's SFTConfig and DPOConfig whole: every field is mapped, none dropped."""

from __future__ import annotations

from steep.trainer.config import OptimConfig
from steep.trainer.core import OPTIM_TO_TRAINING_ARGUMENTS, TrainPlace, training_arguments

UNMAPPED = {"checkpoint_steps", "report_to"}  # these two shape other arguments (save_strategy, report_to)


def test_every_optim_field_reaches_the_training_arguments():
    assert set(OptimConfig.model_fields) - set(OPTIM_TO_TRAINING_ARGUMENTS) <= UNMAPPED


def test_gradient_checkpointing_can_be_turned_off(tmp_path):
    from trl import SFTConfig

    place = TrainPlace(tmp_path / "ckpt", tmp_path / "metrics.jsonl")
    assert SFTConfig(**training_arguments(OptimConfig(), place)).gradient_checkpointing is True  # trl's default kept
    assert SFTConfig(**training_arguments(OptimConfig(gradient_checkpointing=False), place)).gradient_checkpointing is False
