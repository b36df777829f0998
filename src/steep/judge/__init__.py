"""Judges score assistant answers: `Verdict` and the `Judge` protocol in `base`, the one door in `factory`
(`JudgeConfig`, `build_judge`), the YAML business-rules judge in `rules`.

Pure Python: importing this package never imports torch.
"""

from steep.judge.base import (
    Comparison,
    Judge,
    JudgeUsage,
    PointwiseJudge,
    PreferencePair,
    Verdict,
    compare_by_scores,
    pair_from_verdicts,
    rank_verdicts,
)
from steep.judge.factory import JUDGE_KINDS, JudgeConfig, build_judge
from steep.judge.rules import RULE_KINDS, Rule, RulesJudge, RulesJudgeConfig

__all__ = [
    "Comparison",
    "JUDGE_KINDS",
    "Judge",
    "JudgeUsage",
    "PointwiseJudge",
    "JudgeConfig",
    "PreferencePair",
    "RULE_KINDS",
    "Rule",
    "RulesJudge",
    "RulesJudgeConfig",
    "Verdict",
    "build_judge",
    "compare_by_scores",
    "pair_from_verdicts",
    "rank_verdicts",
]
