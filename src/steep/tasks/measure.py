"""Run any held-out task on a model: the metric keys `steep.tasks.names` lists for its kind, and its records.

    result = run_task(task, model, tokenizer, device="cpu", seed=0)
    result.metrics     # {"format_adherence": 0.92}
    result.records     # what was scored: prompts and answers, judged answers, or dialogues
"""

from __future__ import annotations

from dataclasses import dataclass, field

from steep.generate.hf import HFChatGenerator
from steep.judge.factory import build_judge
from steep.tasks.answers import measure_format, measure_rules
from steep.tasks.bpb import measure_bpb
from steep.tasks.metrics import format_adherence
from steep.tasks.dialogue import measure_coherence_report
from steep.tasks.spec import BpbTask, FormatTask, RulesTask


@dataclass
class TaskResult:
    metrics: dict
    records: list[dict] = field(default_factory=list)


def run_task(task, model, tokenizer, device: str, seed: int) -> TaskResult:
    if isinstance(task, BpbTask):
        return TaskResult({f"{task.name}_bpb": measure_bpb(model, tokenizer, task, device)})
    generator = HFChatGenerator(model, tokenizer, device)
    if isinstance(task, FormatTask):
        score, prompts, answers = measure_format(generator, task, seed)
        records = [{"messages": p, "answer": a, "format_ok": format_adherence([a], task.pattern) == 1.0} for p, a in zip(prompts, answers)]
        return TaskResult({"format_adherence": score}, records)
    if isinstance(task, RulesTask):
        report, records = measure_rules(generator, build_judge(task.judge), task, seed)
        return TaskResult(report, records)
    report, dialogues = measure_coherence_report(generator, build_judge(task.judge), task, seed)
    return TaskResult(report, dialogues)
