"""Win rate of each stage's model against the previous stage's, under an evaluation judge that trained neither.

    prompts, references = gold_prompts(task)   # eval.winrate: held-out file(s), max_prompts
    answers = answer_prompts(generator, prompts, task.generation, seed=0)       # once per model
    report = pairwise_report(judge, prompts, references, new_answers, old_answers)
    report["win_rate_vs_previous"], report["win_rate_vs_previous_lc"]

Held-out rows give a prompt and a gold answer: `meta.reference_answer` when the row has one (dpo-style prompt
rows), else the conversation's last assistant turn (sft-style rows; the prompt is everything before it). A
reference judge (`steep.judge.reference`) compares the two answers by their closeness to the gold answer; any
other judge (an OpenAI-compatible endpoint, a local model) is asked through `compare_batch`, both orders where it
asks both. Ties count half (a model against itself scores 0.5). Beside the raw win rate, a length-controlled one
(`steep.tasks.winrate.length_controlled_win_rate`) says how much of it survives at equal answer length, and a
bootstrap interval over the prompts (`_low`, `_high`, and its `_verdict`: better, worse or no clear difference)
says whether the prompts were enough to tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest
from pathlib import Path

from pydantic import Field, field_validator

from steep.artifacts import read_jsonl
from steep.generate.config import GenerationConfig
from steep.schema import ExistingPath, StrictModel
from steep.tasks.winrate import length_controlled_win_rate, outcome, verdict, win_rate_interval


class WinRateTask(StrictModel):
    """Answers of every model to held-out prompts with gold answers, each model against the one before it."""

    heldout: list[ExistingPath] = Field(min_length=1, description="JSONL chats (one file or a list): meta.reference_answer, or a last assistant turn, is the gold answer")
    max_prompts: int = Field(32, ge=1, description="prompts in all, taken from the files in turn (the first row of each, then the second, ...)")
    generation: GenerationConfig = GenerationConfig(temperature=0.0, max_new_tokens=128)

    @field_validator("heldout", mode="before")
    @classmethod
    def _one_file_or_many(cls, value):
        return [value] if isinstance(value, (str, Path)) else value


def gold_prompts(task: WinRateTask) -> tuple[list[list[dict]], list[str]]:
    """(prompts, gold answers) of up to `max_prompts` rows, taken from the held-out files in turn, so a small cap
    still samples every file (a few dozen prompts is what separates 0.6 from 0.5; more files make more prompts)."""
    per_file = [list(zip(*reference_prompts(read_jsonl(path), where=str(path)))) for path in task.heldout]
    taken = [pair for round_ in zip_longest(*per_file) for pair in round_ if pair is not None][: task.max_prompts]
    return [prompt for prompt, _ in taken], [reference for _, reference in taken]


def reference_prompts(rows: Sequence[dict], *, where: str = "heldout") -> tuple[list[list[dict]], list[str]]:
    """(prompts, gold answers) from held-out rows; a row with neither a reference nor an assistant turn is an error
    naming its line."""
    prompts, references = [], []
    for line, row in enumerate(rows, start=1):
        messages = row.get("messages") or []
        reference = (row.get("meta") or {}).get("reference_answer")
        if reference:
            prompt = messages
            if prompt and prompt[-1].get("role") == "assistant":
                prompt = prompt[:-1]
        else:
            last = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
            if not last:
                raise ValueError(f"{where}: line {line}: no gold answer (neither meta.reference_answer nor an assistant turn)")
            prompt, reference = messages[: last[-1]], messages[last[-1]].get("content") or ""
        prompts.append(prompt)
        references.append(reference)
    return prompts, references


def answer_prompts(generator, prompts: Sequence[list[dict]], generation: GenerationConfig, seed: int) -> list[str]:
    return [reply.text for reply in generator.generate_chat(list(prompts), generation, seed=seed)]


def words(text: str) -> int:
    return len(text.split())


def compare(judge, prompts: Sequence[list[dict]], references: Sequence[str], new: Sequence[str], old: Sequence[str]):
    """One Comparison per prompt, "a" meaning the new answer won."""
    if getattr(judge, "needs_reference", False):
        return judge.compare_to_references(new, old, references)
    return judge.compare_batch([(list(p), a, b) for p, a, b in zip(prompts, new, old)])


def pairwise_report(judge, prompts, references, new: Sequence[str], old: Sequence[str]) -> tuple[dict, list[dict]]:
    """({win_rate_vs_previous, its _lc, _low, _high and _verdict, tie_rate_vs_previous, comparisons_vs_previous},
    one record a prompt)."""
    comparisons = compare(judge, prompts, references, new, old)
    outcomes = [outcome(c) for c in comparisons]
    low, high = win_rate_interval(outcomes)
    report = {
        "win_rate_vs_previous": sum(outcomes) / len(outcomes),
        "win_rate_vs_previous_low": low,
        "win_rate_vs_previous_high": high,
        "win_rate_vs_previous_verdict": verdict(low, high),
        "win_rate_vs_previous_lc": length_controlled_win_rate(outcomes, [words(a) for a in new], [words(b) for b in old]),
        "tie_rate_vs_previous": sum(1 for c in comparisons if c.winner == "tie") / len(comparisons),
        "comparisons_vs_previous": len(comparisons),
    }
    records = [{"new": a, "old": b, "outcome": o, **c.to_dict()} for a, b, o, c in zip(new, old, outcomes, comparisons)]
    return report, records
