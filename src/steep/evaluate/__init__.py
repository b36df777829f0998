"""Evaluation: stage metrics (pure Python, in `metrics`), and later leak canaries, the lm-eval bridge, the report.

Importing this package never imports torch.
"""

from steep.evaluate.metrics import (
    all_rules_pass_rate,
    bits_per_byte,
    coherence_by_turn,
    coherence_late,
    format_adherence,
    mean_words,
    per_rule_pass_rates,
    rule_pass_rate,
)

__all__ = [
    "all_rules_pass_rate",
    "bits_per_byte",
    "coherence_by_turn",
    "coherence_late",
    "format_adherence",
    "mean_words",
    "per_rule_pass_rates",
    "rule_pass_rate",
]
