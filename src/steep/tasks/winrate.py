"""Pairwise win rate of one model's answers against another's, under a judge, on the same prompts.

    report = win_rate(judge, prompts, new_answers, old_answers)
    report["win_rate"]        # (wins + ties / 2) / n: 0.5 means "no better, no worse"

Pairs are (prompt, new, old) triples asked through `Judge.compare_batch`: a model judge asks both orders and
calls a disagreement a tie (position bias); a pointwise judge compares the two scores. Ties count half, the
convention of AlpacaEval and MT-Bench, so a model compared with itself scores exactly 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence

from steep.judge.base import Judge


def win_rate(judge: Judge, prompts: Sequence[list[dict]], new: Sequence[str], old: Sequence[str]) -> dict:
    """{win_rate, tie_rate, both_order_agreement (None when the judge does not ask both orders), comparisons}."""
    if not (len(prompts) == len(new) == len(old)):
        raise ValueError(f"win_rate needs as many prompts as answers: {len(prompts)}, {len(new)}, {len(old)}")
    if not prompts:
        raise ValueError("no answers to compare")
    comparisons = judge.compare_batch([(list(p), a, b) for p, a, b in zip(prompts, new, old)])
    wins = sum(1 for c in comparisons if c.winner == "a")
    ties = sum(1 for c in comparisons if c.winner == "tie")
    asked_both = [c.agreed for c in comparisons if c.agreed is not None]
    return {
        "win_rate": (wins + 0.5 * ties) / len(comparisons),
        "tie_rate": ties / len(comparisons),
        "both_order_agreement": sum(asked_both) / len(asked_both) if asked_both else None,
        "comparisons": len(comparisons),
    }
