"""Judges score assistant answers: `Verdict` and the protocols in `base`, the YAML business-rules judge in `rules`.

Pure Python: importing this package never imports torch.
"""

from steep.judge.base import (
    ConversationJudge,
    Judge,
    PreferencePair,
    Verdict,
    best_and_worst,
    message_text,
    pair_from_verdicts,
    rank,
    rank_verdicts,
)
from steep.judge.rules import RULE_KINDS, Rule, RulesJudge, RulesJudgeConfig

__all__ = [
    "ConversationJudge",
    "Judge",
    "PreferencePair",
    "RULE_KINDS",
    "Rule",
    "RulesJudge",
    "RulesJudgeConfig",
    "Verdict",
    "best_and_worst",
    "message_text",
    "pair_from_verdicts",
    "rank",
    "rank_verdicts",
]
