"""The `ensemble` judge: rules as a hard gate, then the weighted opinion of other judges.

    judge:
      kind: ensemble
      gate:                                   # a rules judge (`kind: rules` optional): every rule must pass
        rules:
          - {kind: no_pii, name: no_pii}
          - {kind: regex_present, name: cites_policy, pattern: 'POL-\\d{4}'}
      gate_fail_score: 0.0                    # a gate-failing answer scores at most this
      members:                                # any judge configs, each with a weight (> 0)
        - weight: 2.0
          judge: {kind: reward_model, path: models/rm, terms: {allows_training_on_outputs: true, source: "..."}}
        - weight: 1.0
          judge: {kind: rules, rules: [{kind: max_words, name: short, max: 60}]}   # soft rules: partial credit
      tie_margin: 0.0                         # pairwise: |weighted preference| at or under this is a tie

Pointwise, with member scores m_i and weights w_i, m = sum(w_i m_i) / sum(w_i):
  - an answer that passes every gate rule scores g + (1 - g) m, where g = gate_fail_score (with the default
    g = 0: exactly the members' weighted mean);
  - one that fails a gate rule scores g m, capped a hair (1e-6) under g so it never ties a passing answer (with
    g = 0 it scores 0 and the members are not even asked: no model call for an answer the rules rejected).
  So a failing answer never outscores a passing one (with g = 0 it can only tie one whose members all gave 0). `Verdict.passed` holds the gate rules' results (the members'
  own rules are soft: weights, not gates), so strict pass rates (`all_rules_pass_rate`) keep their meaning.

Pairwise: an answer that passes the gate beats one that fails it, whatever the members say (confidence 1). When
both pass, or both fail with g > 0, each member compares them; member i's vote is +c_i for a, -c_i for b (c_i its
confidence), 0 for a tie, and the weighted mean of the votes decides: its sign the winner, its size the
confidence. Both failing with g = 0 is a tie (both score 0), matching pointwise.

Terms: the ensemble trains on its members' verdicts, so a stage that trains on it checks every member that is a
model judge (`build_training_judge`), each at its own YAML path (`dpo.judge.members[1].judge`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import Field

from steep.chat import Message
from steep.judge.base import Comparison, Judge, JudgeUsage, PointwiseJudge, Verdict
from steep.judge.rules import RulesJudge, RulesJudgeConfig
from steep.schema import StrictModel


GATE_EPSILON = 1e-6


class EnsembleMember(StrictModel):
    # `JudgeConfig` is the union this config belongs to, defined in `steep.judge.factory`, which imports this
    # module (so this one cannot import it): the factory resolves the name with `model_rebuild`.
    judge: JudgeConfig  # noqa: F821
    weight: float = Field(1.0, gt=0.0, allow_inf_nan=False)


class EnsembleJudgeConfig(StrictModel):
    kind: Literal["ensemble"] = "ensemble"
    gate: RulesJudgeConfig | None = None
    gate_fail_score: float = Field(0.0, ge=0.0, le=1.0)
    members: list[EnsembleMember] = Field(min_length=1)
    tie_margin: float = Field(0.0, ge=0.0, lt=1.0)


class EnsembleJudge(PointwiseJudge):
    """Gate, then weighted members. Its `usage` sums its members' (read it after judging)."""

    def __init__(self, config: EnsembleJudgeConfig, build_member: Callable[[Any], Judge]) -> None:
        """`build_member`: `steep.judge.factory.build_judge`, handed in by the factory (which imports this module)."""
        super().__init__()
        self.config = config
        self.gate = RulesJudge(config.gate) if config.gate is not None else None
        self.members: list[Judge] = [build_member(m.judge) for m in config.members]
        self.weights = [m.weight for m in config.members]
        self._total = sum(self.weights)
        parts = [f"{w:g}*{j.identity}" for w, j in zip(self.weights, self.members)]
        gate = self.gate.identity if self.gate is not None else "none"
        self.identity = f"ensemble[gate={gate};fail<={config.gate_fail_score:g};{' + '.join(parts)}]"

    @property
    def usage(self) -> JudgeUsage:
        total = JudgeUsage()
        for member in self.members:
            total.add(member.usage)
        return total

    @usage.setter
    def usage(self, value) -> None:  # PointwiseJudge.__init__ sets one; the members' are the real ones
        pass

    def _gate(self, prompts: Sequence[list[Message]], answers: Sequence[str]) -> list[Verdict | None]:
        if self.gate is None:
            return [None] * len(answers)
        return self.gate.judge_batch(prompts, answers)

    # -- pointwise -------------------------------------------------------------------------------------------
    def judge(self, prompt: list[Message], answer: str) -> Verdict:
        return self.judge_batch([prompt], [answer])[0]

    def judge_batch(self, prompts: Sequence[list[Message]], answers: Sequence[str]) -> list[Verdict]:
        if len(prompts) != len(answers):
            raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers")
        g = self.config.gate_fail_score
        gates = self._gate(prompts, answers)
        ask = [i for i, v in enumerate(gates) if v is None or v.all_passed or g > 0]
        member_verdicts = [m.judge_batch([prompts[i] for i in ask], [answers[i] for i in ask]) for m in self.members]
        means = {}
        notes = {}
        for k, i in enumerate(ask):
            scores = [verdicts[k].score for verdicts in member_verdicts]
            means[i] = sum(w * s for w, s in zip(self.weights, scores)) / self._total
            notes[i] = ", ".join(f"{w:g}x{s:.3f}" for w, s in zip(self.weights, scores))
        out = []
        for i, gate in enumerate(gates):
            passed = dict(gate.passed) if gate is not None else {}
            m = means.get(i, 0.0)
            if gate is None or gate.all_passed:
                score = g + (1 - g) * m
                why = f"members {notes[i]} -> {m:.3f}"
            else:
                # a hair under g even when m = 1: a failing answer must never tie a passing one that scores g
                # (a tie is broken by length in the DPO ranking, and the shorter answer may be the failing one)
                score = max(0.0, min(g * m, g - GATE_EPSILON))
                why = f"gate failed ({gate.rationale})" + (f"; members {notes[i]} -> {m:.3f}" if i in notes else "")
            out.append(Verdict(min(1.0, max(0.0, score)), passed=passed, rationale=why))
        return out

    # -- pairwise --------------------------------------------------------------------------------------------
    def compare_batch(self, triples: Sequence[tuple[list[Message], str, str]]) -> list[Comparison]:
        prompts = [p for p, _, _ in triples for _ in (0, 1)]
        gates = self._gate(prompts, [x for _, a, b in triples for x in (a, b)])
        out: list[Comparison | None] = [None] * len(triples)
        ask = []
        for i in range(len(triples)):
            gate_a, gate_b = gates[2 * i], gates[2 * i + 1]
            ok_a = gate_a is None or gate_a.all_passed
            ok_b = gate_b is None or gate_b.all_passed
            if ok_a != ok_b:
                failed = gate_b if ok_a else gate_a
                out[i] = Comparison("a" if ok_a else "b", 1.0, f"gate: only {'a' if ok_a else 'b'} passes ({failed.rationale})")
            elif not ok_a and self.config.gate_fail_score == 0:
                out[i] = Comparison("tie", 0.0, "gate: both fail")
            else:
                ask.append(i)
        member_comparisons = [m.compare_batch([triples[i] for i in ask]) for m in self.members]
        for k, i in enumerate(ask):
            votes = []
            for comparisons in member_comparisons:
                c = comparisons[k]
                votes.append(c.confidence if c.winner == "a" else -c.confidence if c.winner == "b" else 0.0)
            preference = sum(w * v for w, v in zip(self.weights, votes)) / self._total
            why = "members " + ", ".join(f"{w:g}x{v:+.3f}" for w, v in zip(self.weights, votes)) + f" -> {preference:+.3f}"
            if abs(preference) <= self.config.tie_margin:
                out[i] = Comparison("tie", 0.0, why)
            else:
                out[i] = Comparison("a" if preference > 0 else "b", min(1.0, abs(preference)), why)
        return out  # type: ignore[return-value]
