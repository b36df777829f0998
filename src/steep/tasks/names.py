"""Metric names: the one table the console summary, `steep show`, the report and eval read.

The names are a contract (ARCHITECTURE.md): a stage reports `<metric>_before` / `<metric>_after`, eval reports
`models.<stage>.<metric>`; the same name always means the same number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    higher_is_better: bool


# what each held-out task kind measures, in report column order
TASK_METRICS: dict[str, tuple[Metric, ...]] = {
    "bpb": (Metric("domain_bpb", "domain bits/byte", False), Metric("general_bpb", "general bits/byte", False)),
    "format": (Metric("format_adherence", "format adherence", True),),
    "rules": (
        Metric("rule_pass_rate", "rule pass rate", True),
        Metric("all_rules_pass_rate", "all rules pass", True),
        Metric("mean_answer_len", "mean answer words", False),
    ),
    "coherence": (
        Metric("coherence_late", "late-turn coherence", True),
        Metric("fact_recall_late", "late-turn fact recall", True),
    ),
}
# eval's win rate (`steep.tasks.pairwise`): each model against the previous stage's, under the evaluation judge
WINRATE_METRICS: tuple[Metric, ...] = (
    Metric("reference_similarity", "similarity to gold answer", True),
    Metric("win_rate_vs_previous", "win rate vs previous", True),
    Metric("win_rate_vs_previous_lc", "win rate vs previous, length-controlled", True),
)
EVAL_METRICS: tuple[Metric, ...] = tuple(metric for metrics in TASK_METRICS.values() for metric in metrics) + WINRATE_METRICS

# The number each stage exists to move, shown as "before → after".
HEADLINE: dict[str, Metric] = {
    "cpt": TASK_METRICS["bpb"][0],
    "sft": TASK_METRICS["format"][0],
    "dpo": TASK_METRICS["rules"][0],
    "rs": TASK_METRICS["coherence"][1],  # fact recall: what a user feels when a long conversation goes on
}
# every before/after pair a stage may report, for the report's "what each stage moved" table
STAGE_MOVES: dict[str, tuple[Metric, ...]] = {
    "cpt": TASK_METRICS["bpb"],
    "sft": TASK_METRICS["format"],
    "dpo": TASK_METRICS["rules"],
    "rs": TASK_METRICS["coherence"],
}


def before_after(metrics: dict, metric: Metric) -> tuple:
    return metrics.get(f"{metric.key}_before"), metrics.get(f"{metric.key}_after")
