"""Held-out tasks as configs: what to measure, on which data, with which judge. Torch-free.

A training stage builds its task from its own section (`SftConfig` → `FormatTask`) and measures its input and
its output model with it; eval runs the same tasks on every stage's model, so the same metric name always means
the same number. A task names its metric keys; `steep.tasks.measure.run_task` computes them.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from steep.generate.config import GenerationConfig
from steep.judge.factory import JudgeConfig
from steep.schema import ExistingPath, Regex, StrictModel
from steep.simulate.model_user import TemplateUserConfig, UserConfig


class BpbTask(StrictModel):
    """Bits per byte of held-out text (`<name>_bpb`): JSONL files or directories of JSONL with `text` rows."""

    kind: Literal["bpb"] = "bpb"
    name: Literal["domain", "general"]
    files: list[ExistingPath] = Field(min_length=1)
    seq_len: int = Field(256, ge=16)
    max_docs: int = Field(200, ge=1)


class FormatTask(StrictModel):
    """Share of answers to held-out chats (the turn before each one's last assistant turn) that full-match
    `pattern` (`format_adherence`)."""

    kind: Literal["format"] = "format"
    heldout: ExistingPath
    pattern: Regex
    max_prompts: int = Field(64, ge=1)
    generation: GenerationConfig = GenerationConfig(temperature=0.0)


class RulesTask(StrictModel):
    """Judge `samples` answers to each held-out prompt (`rule_pass_rate`, `all_rules_pass_rate`, `mean_answer_len`)."""

    kind: Literal["rules"] = "rules"
    heldout: ExistingPath
    judge: JudgeConfig
    max_prompts: int = Field(64, ge=1)
    samples: int = Field(1, ge=1)
    generation: GenerationConfig = GenerationConfig(temperature=0.0)


class CoherenceTask(StrictModel):
    """Roll out held-out scenarios against a simulated user and judge every turn: `coherence_late` (mean rule
    score on turns >= `late_turn`) and `fact_recall_late` (share of due scenario facts the replies give back on
    those turns; `steep.tasks.metrics.fact_checks`)."""

    kind: Literal["coherence"] = "coherence"
    heldout: ExistingPath
    judge: JudgeConfig
    system_prompt: str = ""
    max_dialogues: int = Field(16, ge=1)
    max_turns: int = Field(12, ge=1)
    late_turn: int = Field(8, ge=1)
    rollouts: int = Field(1, ge=1)
    generation: GenerationConfig = GenerationConfig(temperature=0.0)
    user: UserConfig = TemplateUserConfig()


Task = Annotated[Union[BpbTask, FormatTask, RulesTask, CoherenceTask], Field(discriminator="kind")]
TASK_KINDS = ("bpb", "format", "rules", "coherence")


def task_files(task) -> list:
    """The files a task reads (a stage consuming the task declares them as inputs)."""
    return list(task.files) if isinstance(task, BpbTask) else [task.heldout]


def limited(task, *, max_docs: int, max_prompts: int, max_dialogues: int):
    """The task on at most this much data (eval measures five models, so it may use smaller slices)."""
    if isinstance(task, BpbTask):
        return task.model_copy(update={"max_docs": min(task.max_docs, max_docs)})
    if isinstance(task, CoherenceTask):
        return task.model_copy(update={"max_dialogues": min(task.max_dialogues, max_dialogues)})
    return task.model_copy(update={"max_prompts": min(task.max_prompts, max_prompts)})
