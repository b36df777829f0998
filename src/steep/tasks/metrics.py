r"""Text metrics every stage reports: format adherence, rule pass rates, answer length, late-turn coherence, bpb.

Pure functions over strings and `Verdict`s, no model and no torch, so they are exact and testable by hand:

    from steep.tasks.metrics import format_adherence, rule_pass_rate, coherence_late, bits_per_byte
    format_adherence(["Answer: yes.\nSource: POL-0001"], r"Answer: .+\nSource: POL-\d{4}")   # 1.0

Means over an empty list raise ValueError (an empty held-out set is a bug to surface, not a 0 to report);
`coherence_by_turn` and `coherence_late` are the exception, see their docstrings. No function returns NaN, so
every result can go straight into a JSON manifest.

Metric names live in `steep.tasks.names`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from steep.judge.base import Verdict


def _require(items: Sequence[object], what: str) -> None:
    if len(items) == 0:
        raise ValueError(f"no {what} to measure")


def format_adherence(answers: Sequence[str], pattern: str | re.Pattern[str], flags: int = 0) -> float:
    """Share of answers that full-match `pattern`, surrounding whitespace stripped first (as the `format` rule does,
    so the sft metric and the dpo judge agree on what "in format" means)."""
    _require(answers, "answers")
    regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
    return sum(1 for a in answers if regex.fullmatch(a.strip())) / len(answers)


def rule_pass_rate(verdicts: Sequence[Verdict]) -> float:
    """Mean verdict score: partial credit for answers that pass some rules."""
    _require(verdicts, "verdicts")
    return sum(v.score for v in verdicts) / len(verdicts)


def all_rules_pass_rate(verdicts: Sequence[Verdict]) -> float:
    """Share of verdicts with every rule passed: the stricter "would ship as is" number."""
    _require(verdicts, "verdicts")
    return sum(1 for v in verdicts if v.all_passed) / len(verdicts)


def per_rule_pass_rates(verdicts: Sequence[Verdict]) -> dict[str, float]:
    """Rule name -> share of the verdicts that judged that rule in which it passed, in first-seen rule order.

    A rule missing from some verdicts (judges with different rule sets) is averaged only over those that have it.
    """
    _require(verdicts, "verdicts")
    passed: dict[str, int] = {}
    seen: dict[str, int] = {}
    for v in verdicts:
        for name, ok in v.passed.items():
            seen[name] = seen.get(name, 0) + 1
            passed[name] = passed.get(name, 0) + int(ok)
    return {name: passed[name] / seen[name] for name in seen}


def mean_words(texts: Sequence[str]) -> float:
    """Mean whitespace-separated word count (the unit the `max_words` rule counts in)."""
    _require(texts, "texts")
    return sum(len(t.split()) for t in texts) / len(texts)


def coherence_by_turn(conversations_verdicts: Iterable[Sequence[Verdict]]) -> dict[int, float]:
    """Assistant turn index (1 = first assistant reply) -> mean score over the conversations that reach it.

    Keys are sorted; a turn no conversation reaches is absent; no conversations gives {}.
    """
    totals: dict[int, float] = {}
    counts: dict[int, int] = {}
    for verdicts in conversations_verdicts:
        for turn, v in enumerate(verdicts, start=1):
            totals[turn] = totals.get(turn, 0.0) + v.score
            counts[turn] = counts.get(turn, 0) + 1
    return {turn: totals[turn] / counts[turn] for turn in sorted(totals)}


def coherence_late(conversations_verdicts: Iterable[Sequence[Verdict]], from_turn: int = 8) -> float:
    """Mean score over every assistant turn with index >= from_turn, pooled across conversations.

    Pooled, not a mean of per-conversation means: a conversation with 12 turns weighs 5 late turns, one with 8
    weighs 1. Returns 0.0 when no conversation reaches `from_turn`: the rollouts were too short to measure late
    coherence, and reporting 0.0 (rather than NaN, which JSON manifests cannot hold) makes that visible as a
    failure rather than hiding it.
    """
    if from_turn < 1:
        raise ValueError(f"from_turn is 1-based, got {from_turn}")
    late = [v.score for verdicts in conversations_verdicts for v in list(verdicts)[from_turn - 1 :]]
    return sum(late) / len(late) if late else 0.0


def bits_per_byte(total_nll_nats: float, total_bytes: int) -> float:
    """Bits per UTF-8 byte of text: a loss comparable across tokenizers (cpt before/after, base vs tuned).

    total_nll_nats is the summed token negative log-likelihood (natural log) over a text of total_bytes UTF-8
    bytes. 1 nat = 1/ln 2 = 1.4427 bits, so bits = nats / ln 2, and bpb = bits / bytes. Example: 250 tokens at a
    mean loss of 2.0 nats over 1,000 bytes: 500 nats / 0.6931 = 721.3 bits, / 1,000 bytes = 0.7213 bpb.
    """
    if total_bytes <= 0:
        raise ValueError(f"total_bytes must be positive, got {total_bytes}")
    if not math.isfinite(total_nll_nats) or total_nll_nats < 0:
        raise ValueError(f"total_nll_nats must be finite and >= 0, got {total_nll_nats}")
    return total_nll_nats / math.log(2) / total_bytes


# ---- fact recall: did the assistant keep what the user told it? Judge-independent, from the scenario's facts. ----


def fact_checks(messages: Sequence[dict], facts: Sequence[dict], asks: dict | None = None) -> list[dict]:
    """One `{turn, fact, hit}` per (assistant turn, due fact) of a conversation, in turn order.

    `facts`: `{name, value, recall}` dicts (a `ScenarioFact`'s dump); `asks`: assistant turn (1-based, int or str
    key) -> names of the facts the user message just before it asked back. A fact is stated at the first user
    message that mentions its value (wherever the simulator put it); it is due on assistant turn t when it was
    stated at or before user message t and either its `recall` is "every_turn" or turn t's user message asked it
    back. A hit: the reply mentions the value (`steep.simulate.user.mentions`: case- and space-insensitive).
    """
    from steep.chat import message_text
    from steep.simulate.user import mentions

    asks = {int(k): set(v) for k, v in (asks or {}).items()}
    stated: dict[str, int] = {}
    checks: list[dict] = []
    user_turn = 0
    for message in messages:
        role, text = message.get("role"), message_text(message)
        if role == "user":
            user_turn += 1
            for fact in facts:
                if fact["name"] not in stated and mentions(text, fact["value"]):
                    stated[fact["name"]] = user_turn
        elif role == "assistant" and user_turn:
            for fact in facts:
                due = fact.get("recall") == "every_turn" or fact["name"] in asks.get(user_turn, ())
                if due and stated.get(fact["name"], user_turn + 1) <= user_turn:
                    checks.append({"turn": user_turn, "fact": fact["name"], "hit": mentions(text, fact["value"])})
    return checks


def fact_recall(conversations_checks: Iterable[Sequence[dict]], from_turn: int = 1) -> float | None:
    """Share of due facts given back on assistant turns >= from_turn, pooled over conversations (as
    `coherence_late` pools turns). None when no fact was due there: nothing to measure is not a score of 0."""
    if from_turn < 1:
        raise ValueError(f"from_turn is 1-based, got {from_turn}")
    hits = [c["hit"] for checks in conversations_checks for c in checks if c["turn"] >= from_turn]
    return sum(hits) / len(hits) if hits else None


def fact_recall_late(conversations_checks: Iterable[Sequence[dict]], from_turn: int = 8) -> float | None:
    """`fact_recall` on turns >= from_turn (8): what a user feels late in a long conversation."""
    return fact_recall(conversations_checks, from_turn)


def fact_recall_by_turn(conversations_checks: Iterable[Sequence[dict]]) -> dict[int, float]:
    """Assistant turn -> share of due facts given back on that turn; turns with nothing due are absent."""
    totals: dict[int, list[int]] = {}
    for checks in conversations_checks:
        for c in checks:
            totals.setdefault(c["turn"], []).append(int(c["hit"]))
    return {turn: sum(v) / len(v) for turn, v in sorted(totals.items())}


def all_rules_late(conversations_verdicts: Iterable[Sequence[Verdict]], from_turn: int = 8) -> float:
    """Share of assistant turns >= from_turn that pass every rule: consistency with what the system prompt asks
    (the rules encode it), strictly. 0.0 when no conversation reaches `from_turn`, as `coherence_late`."""
    late = [v.all_passed for verdicts in conversations_verdicts for v in list(verdicts)[from_turn - 1 :]]
    return sum(late) / len(late) if late else 0.0


def shingle_jaccard(a: str, b: str, n: int = 3) -> float:
    """Jaccard similarity of word n-gram sets (1.0 for two empty texts): near-duplicate keepers score close to 1."""
    def shingles(text: str) -> set[tuple[str, ...]]:
        words = text.casefold().split()
        return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))} if words else set()

    sa, sb = shingles(a), shingles(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


__all__ = [
    "all_rules_late",
    "all_rules_pass_rate",
    "bits_per_byte",
    "coherence_by_turn",
    "coherence_late",
    "fact_checks",
    "fact_recall",
    "fact_recall_by_turn",
    "fact_recall_late",
    "format_adherence",
    "mean_words",
    "per_rule_pass_rates",
    "rule_pass_rate",
    "shingle_jaccard",
]
