"""Pairwise win rate of one model's answers against another's, under a judge, on the same prompts.

    report = win_rate(judge, prompts, new_answers, old_answers)
    report["win_rate"]        # (wins + ties / 2) / n: 0.5 means "no better, no worse"

Pairs are (prompt, new, old) triples asked through `Judge.compare_batch`: a model judge asks both orders and
calls a disagreement a tie (position bias); a pointwise judge compares the two scores. Ties count half, the
convention of AlpacaEval and MT-Bench, so a model compared with itself scores exactly 0.5.

A win rate over a few dozen prompts is noisy (at 50 prompts one standard error is about 0.07), so
`win_rate_interval` bootstraps a confidence interval over the prompts and `verdict` reads it: "better" only when
the whole interval lies above 0.5.
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


def outcome(comparison) -> float:
    """1 when the new answer (a) won, 0 when it lost, 0.5 for a tie."""
    return {"a": 1.0, "b": 0.0, "tie": 0.5}[comparison.winner]


def win_rate_interval(outcomes: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000,
                      seed: int = 0) -> tuple[float, float]:  # fmt: skip
    """(low, high): a percentile bootstrap interval of the win rate, resampling the prompts with replacement.

    Seeded, so the same outcomes always give the same interval (a report must not change when it is re-rendered).
    """
    import random

    if not outcomes:
        raise ValueError("no outcomes to bootstrap")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")
    rng, n = random.Random(seed), len(outcomes)
    means = sorted(sum(rng.choices(outcomes, k=n)) / n for _ in range(resamples))
    tail = (1.0 - confidence) / 2.0
    return means[int(tail * (resamples - 1))], means[round((1.0 - tail) * (resamples - 1))]


def verdict(low: float, high: float) -> str:
    """What an interval says against "no better, no worse" (0.5)."""
    if low > 0.5:
        return "better"
    if high < 0.5:
        return "worse"
    return "no clear difference"


def length_controlled_win_rate(outcomes: Sequence[float], new_lengths: Sequence[float], old_lengths: Sequence[float],
                               *, ridge: float = 1.0, iterations: int = 50) -> float:  # fmt: skip
    """The win rate with the effect of answer length taken out, as AlpacaEval 2.0 does it.

    Fit P(new wins) = sigmoid(b0 + b1 * tanh(d / s)) to the outcomes (ties as 0.5), where d is the length gap
    (new minus old, in words) and s its standard deviation; the length-controlled win rate is sigmoid(b0): what the
    fit predicts for two answers of equal length. A judge that prefers longer answers credits a model that grew
    wordier with wins its content did not earn; this figure removes them. `ridge` shrinks b1 only (an L2 penalty),
    so a few prompts whose lengths separate the outcomes cannot push it to infinity. With no length gap at all the
    figure equals the raw win rate. Newton's method on the penalized log-likelihood; b0 is clipped to +-20, so a
    clean sweep reports ~1.0 (0.9999999979), not a divergence.
    """
    import math

    n = len(outcomes)
    if not (n == len(new_lengths) == len(old_lengths)) or n == 0:
        raise ValueError(f"need as many outcomes as lengths, and at least one: {n}, {len(new_lengths)}, {len(old_lengths)}")
    gaps = [float(a) - float(b) for a, b in zip(new_lengths, old_lengths)]
    mean_gap = sum(gaps) / n
    scale = math.sqrt(sum((g - mean_gap) ** 2 for g in gaps) / n) or 1.0
    x = [math.tanh(g / scale) for g in gaps]
    b0 = b1 = 0.0
    for _ in range(iterations):
        p = [1.0 / (1.0 + math.exp(-(b0 + b1 * xi))) for xi in x]
        g0 = sum(y - pi for y, pi in zip(outcomes, p))
        g1 = sum((y - pi) * xi for y, pi, xi in zip(outcomes, p, x)) - ridge * b1
        w = [pi * (1.0 - pi) for pi in p]
        h00 = sum(w) + 1e-9
        h01 = sum(wi * xi for wi, xi in zip(w, x))
        h11 = sum(wi * xi * xi for wi, xi in zip(w, x)) + ridge
        det = h00 * h11 - h01 * h01
        step0, step1 = (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det
        b0, b1 = max(-20.0, min(20.0, b0 + step0)), b1 + step1
        if abs(step0) < 1e-10 and abs(step1) < 1e-10:
            break
    return 1.0 / (1.0 + math.exp(-b0))
