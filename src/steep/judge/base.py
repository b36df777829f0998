"""What every judge returns and promises: `Verdict`, the `Judge` protocol, and ranking.

A judge scores an assistant answer in [0, 1] and says, rule by rule, what passed and why something failed. The
online DPO loop ranks several sampled answers to one prompt and keeps the best and the worst as a preference
pair; the rs stage judges every assistant turn of a simulated conversation. Both only need the protocols here,
so a rules judge, an OpenAI-compatible LLM judge or a reward model can stand in for one another.

    from steep.judge import build_judge
    judge = build_judge(cfg.judge)                      # any judge config: `kind: rules`, ...
    verdicts = [judge.judge(prompt, a) for a in answers]
    pair = pair_from_verdicts(prompt, answers, verdicts)   # None when every answer scores the same

Messages are OpenAI-style dicts: `{"role": "system" | "user" | "assistant", "content": str}`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from steep.chat import Message


@dataclass(frozen=True)
class Verdict:
    """One judged answer.

    score: in [0, 1]; for the rules judge, the weighted share of rules passed.
    passed: rule name -> whether the answer passed it (empty for judges that give a bare score).
    rationale: human-readable, one `name: why` clause per failed rule joined by "; ",
        e.g. `word_limit: 74 words > 60`.
    """

    score: float
    passed: dict[str, bool] = field(default_factory=dict)
    rationale: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.score, (int, float)) and math.isfinite(self.score) and 0.0 <= self.score <= 1.0):
            raise ValueError(f"Verdict.score must be a finite number in [0, 1], got {self.score!r}")

    @property
    def all_passed(self) -> bool:
        """True when every rule passed (vacuously true for a judge that reports no rules)."""
        return all(self.passed.values())

    @property
    def failed(self) -> list[str]:
        """Names of the rules that failed, in rule order."""
        return [name for name, ok in self.passed.items() if not ok]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored beside judged answers and dialogues."""
        return {"score": self.score, "passed": dict(self.passed), "rationale": self.rationale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(score=float(data["score"]), passed=dict(data.get("passed", {})), rationale=data.get("rationale", ""))


Winner = Literal["a", "b", "tie"]


@dataclass(frozen=True)
class Comparison:
    """One pairwise judgement: which of two answers to the same prompt is better.

    winner: "a", "b" or "tie".
    confidence: in [0, 1]; how sure the judge is (1.0 for a deterministic score gap, a label probability for a
        model judge, 0.0 for a tie by disagreement).
    agreed: for a judge asked in both orders (a, b) and (b, a): whether the two answers agreed. A disagreement is
        a tie (position bias). None when the judge was asked once or order cannot matter (scores).
    """

    winner: Winner
    confidence: float = 1.0
    rationale: str = ""
    agreed: bool | None = None

    def __post_init__(self) -> None:
        if self.winner not in ("a", "b", "tie"):
            raise ValueError(f"Comparison.winner must be 'a', 'b' or 'tie', got {self.winner!r}")
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValueError(f"Comparison.confidence must be in [0, 1], got {self.confidence!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"winner": self.winner, "confidence": self.confidence, "rationale": self.rationale, "agreed": self.agreed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        return cls(winner=data["winner"], confidence=float(data.get("confidence", 1.0)), rationale=data.get("rationale", ""), agreed=data.get("agreed"))


@dataclass
class JudgeUsage:
    """What a judge has spent so far: summed into the stage manifest (a model judge costs calls and tokens)."""

    calls: int = 0  # requests actually sent (a cache hit is not a call)
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    malformed: int = 0  # replies that could not be read as a verdict: counted, scored as a tie / 0.5
    retries: int = 0

    def add(self, other: JudgeUsage) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        return {f"judge_{name}": getattr(self, name) for name in self.__dataclass_fields__}


class Judge(Protocol):
    """What every judge does, whatever sits behind it (rules as code, a model, an HTTP endpoint).

    `judge(prompt, answer)`: one answer to `prompt`, the message list it follows.
    `judge_batch(prompts, answers)`: the same for many (a model judge batches or runs them concurrently).
    `judge_conversation(messages)`: every assistant turn of a conversation, one Verdict each, in order; the
    prompt of a turn is every message before it, so `judge(p, a) == judge_conversation(p + [assistant a])[-1]`.
    `compare(prompt, a, b)`: which answer is better; `compare_batch` for many triples.
    `identity`: a short stable string naming the judge and its configuration, recorded beside its verdicts.
    `usage`: calls, cache hits, tokens and cost so far.
    """

    identity: str
    usage: JudgeUsage

    def judge(self, prompt: list[Message], answer: str) -> Verdict: ...

    def judge_batch(self, prompts: Sequence[list[Message]], answers: Sequence[str]) -> list[Verdict]: ...

    def judge_conversation(self, messages: list[Message]) -> list[Verdict]: ...

    def compare(self, prompt: list[Message], a: str, b: str) -> Comparison: ...

    def compare_batch(self, triples: Sequence[tuple[list[Message], str, str]]) -> list[Comparison]: ...


def compare_by_scores(a: Verdict, b: Verdict, *, tie_below: float = 1e-9) -> Comparison:
    """A pairwise judgement from two pointwise verdicts: the higher score wins; a gap under `tie_below` ties.
    Confidence is the score gap (scores are in [0, 1], so the gap is too)."""
    gap = a.score - b.score
    if abs(gap) < tie_below:
        return Comparison("tie", 0.0, f"both {a.score:.3f}")
    winner: Winner = "a" if gap > 0 else "b"
    return Comparison(winner, min(1.0, abs(gap)), f"{a.score:.3f} vs {b.score:.3f}")


class PointwiseJudge:
    """Mixin for judges that score one answer at a time: batch, conversation and pairwise methods from `judge`.

    A subclass sets `identity` and implements `judge`; it overrides `judge_batch` when it can do better than a
    loop (a batched model, concurrent requests) and `compare` when it has a real pairwise view.
    """

    identity: str

    def __init__(self) -> None:
        self.usage = JudgeUsage()

    def judge(self, prompt: list[Message], answer: str) -> Verdict:
        raise NotImplementedError

    def judge_batch(self, prompts: Sequence[list[Message]], answers: Sequence[str]) -> list[Verdict]:
        if len(prompts) != len(answers):
            raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers")
        return [self.judge(list(p), a) for p, a in zip(prompts, answers)]

    def judge_conversation(self, messages: list[Message]) -> list[Verdict]:
        turns = [(messages[:i], m.get("content") or "") for i, m in enumerate(messages) if m.get("role") == "assistant"]
        return self.judge_batch([p for p, _ in turns], [a for _, a in turns])

    def compare(self, prompt: list[Message], a: str, b: str) -> Comparison:
        return self.compare_batch([(prompt, a, b)])[0]

    def compare_batch(self, triples: Sequence[tuple[list[Message], str, str]]) -> list[Comparison]:
        prompts = [p for p, _, _ in triples for _ in (0, 1)]
        answers = [x for _, a, b in triples for x in (a, b)]
        verdicts = self.judge_batch(prompts, answers)
        return [compare_by_scores(verdicts[2 * i], verdicts[2 * i + 1]) for i in range(len(triples))]


def rank_verdicts(answers: Sequence[str], verdicts: Sequence[Verdict]) -> list[int]:
    """Indices of `answers`, best first: higher score, then fewer words, then fewer characters, then lower index.

    Shorter wins a tie so that, among equally good answers, preference pairs never teach the model to ramble.
    The order is a pure function of the inputs: same answers and verdicts, same ranking.
    """
    if len(answers) != len(verdicts):
        raise ValueError(f"{len(answers)} answers but {len(verdicts)} verdicts")
    return sorted(
        range(len(answers)),
        key=lambda i: (-verdicts[i].score, len(answers[i].split()), len(answers[i]), i),
    )


@dataclass(frozen=True)
class PreferencePair:
    """The best and worst of several answers to one prompt, with the verdicts that ranked them."""

    prompt: list[Message]
    chosen: str
    rejected: str
    chosen_index: int
    rejected_index: int
    chosen_verdict: Verdict
    rejected_verdict: Verdict

    @property
    def margin(self) -> float:
        return self.chosen_verdict.score - self.rejected_verdict.score

    def to_record(self, include_judgement: bool = True) -> dict[str, Any]:
        """A `{prompt, chosen, rejected}` row in messages form (what trl's DPOTrainer reads), plus the judgement."""
        record: dict[str, Any] = {
            "prompt": [dict(m) for m in self.prompt],
            "chosen": [{"role": "assistant", "content": self.chosen}],
            "rejected": [{"role": "assistant", "content": self.rejected}],
        }
        if include_judgement:
            record.update(
                chosen_score=self.chosen_verdict.score,
                rejected_score=self.rejected_verdict.score,
                chosen_rationale=self.chosen_verdict.rationale,
                rejected_rationale=self.rejected_verdict.rationale,
            )
        return record


def pair_from_verdicts(
    prompt: list[Message],
    answers: Sequence[str],
    verdicts: Sequence[Verdict],
    min_margin: float = 0.0,
    length_neutral: bool = False,
) -> PreferencePair | None:
    """Best vs worst; None with fewer than two answers or when the score gap is <= min_margin (a tie teaches
    nothing, and a pair of equally-judged answers only adds noise to the DPO loss).

    By default best and worst come from `rank_verdicts` (shorter wins a tie). With `length_neutral`, the chosen is
    the best-scored answer closest in length to the group's median, and the rejected the worst-scored answer
    closest in length to the chosen: when the pairs carry no length difference the judge did not ask for, DPO
    cannot learn "shorter wins" (measured on the demo: best-vs-worst with shorter-wins ties cut held-out answers
    from 22 to 10 words in two rounds, down to the boilerplate every rule accepts).
    """
    if len(answers) < 2:
        return None
    if length_neutral:
        best, worst = _length_neutral_extremes(answers, verdicts)
    else:
        order = rank_verdicts(answers, verdicts)
        best, worst = order[0], order[-1]
    if verdicts[best].score - verdicts[worst].score <= min_margin:
        return None
    return PreferencePair(
        prompt=list(prompt),
        chosen=answers[best],
        rejected=answers[worst],
        chosen_index=best,
        rejected_index=worst,
        chosen_verdict=verdicts[best],
        rejected_verdict=verdicts[worst],
    )


def _length_neutral_extremes(answers: Sequence[str], verdicts: Sequence[Verdict]) -> tuple[int, int]:
    """(best, worst) indices: top score nearest the median length, bottom score nearest the chosen's length."""
    if len(answers) != len(verdicts):
        raise ValueError(f"{len(answers)} answers but {len(verdicts)} verdicts")
    words = [len(a.split()) for a in answers]
    median = sorted(words)[len(words) // 2]
    top = max(v.score for v in verdicts)
    bottom = min(v.score for v in verdicts)
    best = min((i for i, v in enumerate(verdicts) if v.score == top), key=lambda i: (abs(words[i] - median), i))
    worst = min((i for i, v in enumerate(verdicts) if v.score == bottom), key=lambda i: (abs(words[i] - words[best]), i))
    return best, worst
