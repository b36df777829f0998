"""Held-out measures on single answers: format adherence (sft) and judged rule pass rates (dpo).

    score, answers = measure_format(generator, FormatTask(...), seed=0)
    report, records = measure_rules(generator, judge, RulesTask(...), seed=0)   # records: prompt, answer, verdict
"""

from __future__ import annotations

from steep.artifacts import read_jsonl
from steep.generate.hf import HFChatGenerator
from steep.judge.base import Judge, Verdict
from steep.tasks.metrics import all_rules_pass_rate, format_adherence, mean_words, per_rule_pass_rates, rule_pass_rate
from steep.tasks.spec import FormatTask, RulesTask


def heldout_prompts(rows: list[dict]) -> list[list[dict]]:
    """Each held-out conversation up to (not including) its last assistant turn: the turn the model must write."""
    prompts = []
    for row in rows:
        messages = row["messages"]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        prompts.append(messages[:last])
    return prompts


def measure_format(generator: HFChatGenerator, task: FormatTask, seed: int) -> tuple[float, list[list[dict]], list[str]]:
    """(format adherence, the prompts, the answers)."""
    prompts = heldout_prompts(read_jsonl(task.heldout)[: task.max_prompts])
    answers = [g.text for g in generator.generate_chat(prompts, task.generation, seed=seed)]
    return format_adherence(answers, task.pattern), prompts, answers


def rules_report(answers: list[str], verdicts: list[Verdict]) -> dict:
    return {
        "rule_pass_rate": rule_pass_rate(verdicts),
        "all_rules_pass_rate": all_rules_pass_rate(verdicts),
        "mean_answer_len": mean_words(answers),
        "per_rule": per_rule_pass_rates(verdicts),
    }


def measure_rules(generator: HFChatGenerator, judge: Judge, task: RulesTask, seed: int) -> tuple[dict, list[dict]]:
    """Rule pass rates and answer length over `task.samples` answers a held-out prompt, and the judged answers.

    With samples > 1 (and sampling on) this is the expected pass rate of the policy's own distribution, which is
    what DPO optimizes and steadier than one greedy answer per prompt from a small model."""
    prompts = [row["messages"] for row in read_jsonl(task.heldout)][: task.max_prompts]
    repeated = [prompt for prompt in prompts for _ in range(task.samples)]
    groups = generator.sample(prompts, task.samples, task.generation, seed=seed)  # one prefill per prompt
    answers = [reply.text for group in groups for reply in group]
    verdicts = judge.judge_batch(repeated, answers)
    records = [{"prompt": p, "answer": a, **v.to_dict()} for p, a, v in zip(repeated, answers, verdicts)]
    return rules_report(answers, verdicts), records
