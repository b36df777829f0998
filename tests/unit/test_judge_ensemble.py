"""The `ensemble` judge: the rules gate dominates whatever the members say; weighted scores and votes; terms per
member; recursive configs that fail with their YAML path.

Run: PYTHONPATH=src python -m pytest tests/unit/test_judge_ensemble.py -q
"""

from __future__ import annotations

import itertools

import pytest
from pydantic import TypeAdapter, ValidationError

from steep.judge import (
    Comparison,
    EnsembleJudge,
    JudgeConfig,
    PointwiseJudge,
    Verdict,
    build_judge,
    build_training_judge,
    needs_training_terms,
)
from steep.judge.terms import TermsRefused
from steep.pipeline.config import format_location

PROMPT = [{"role": "user", "content": "Where do I send the dispute form? My mail is jane@example.com"}]
PASSING = ["Send it to the branch; see POL-1001.", "Post it to us. POL-2002", "Use the form online, POL-3003 applies."]
FAILING = ["Mail it to ops@example.com, POL-1001.", "See POL-2002 and pay to DE89 3704 0044 0532 0130 00.", "Just call."]
GATE = {"rules": [{"kind": "no_pii", "name": "no_pii"}, {"kind": "regex_present", "name": "cites_policy", "pattern": r"POL-\d{4}"}]}
SOFT = {"rules": [{"kind": "max_words", "name": "short", "max": 6}]}


def ensemble(**extra) -> EnsembleJudge:
    raw = {"kind": "ensemble", "gate": GATE, "members": [{"judge": SOFT}], **extra}
    return build_judge(TypeAdapter(JudgeConfig).validate_python(raw))


class Adversary(PointwiseJudge):
    """A member that loves what the gate forbids: 1.0 for an answer that fails the gate, 0.0 otherwise, and
    a pairwise preference (confidence 1) for the failing answer. Counts what it is asked."""

    identity = "adversary"

    def __init__(self, gate):
        super().__init__()
        self.gate, self.asked = gate, 0

    def judge(self, prompt, answer):
        self.asked += 1
        return Verdict(0.0 if self.gate.judge(prompt, answer).all_passed else 1.0)

    def compare_batch(self, triples):
        out = []
        for prompt, a, b in triples:
            va, vb = self.judge(prompt, a), self.judge(prompt, b)
            out.append(Comparison("tie", 0.0) if va.score == vb.score else Comparison("a" if va.score > vb.score else "b", 1.0))
        return out


class Fixed(PointwiseJudge):
    """Always the same score; prefers `a` (or `b`) with a fixed confidence."""

    def __init__(self, score, winner, confidence):
        super().__init__()
        self.identity, self.score, self.winner, self.confidence = f"fixed:{winner}", score, winner, confidence

    def judge(self, prompt, answer):
        return Verdict(self.score)

    def compare_batch(self, triples):
        return [Comparison(self.winner, self.confidence) for _ in triples]


@pytest.mark.parametrize("gate_fail_score", [0.0, 0.3])
def test_a_gate_failing_answer_never_beats_a_passing_one(gate_fail_score):
    judge = ensemble(gate_fail_score=gate_fail_score, members=[{"judge": SOFT, "weight": 1.0}, {"judge": SOFT, "weight": 5.0}])
    judge.members = [judge.members[0], Adversary(judge.gate)]  # the heavier member prefers every failing answer
    for good, bad in itertools.product(PASSING, FAILING):
        assert judge.compare(PROMPT, good, bad).winner == "a"
        flipped = judge.compare(PROMPT, bad, good)
        assert flipped.winner == "b" and flipped.confidence == 1.0 and "gate: only b passes" in flipped.rationale
        v_good, v_bad = judge.judge(PROMPT, good), judge.judge(PROMPT, bad)
        assert v_bad.score <= gate_fail_score <= v_good.score
        assert v_bad.score < v_good.score or v_bad.score == v_good.score == 0.0  # g = 0: a tie at worst
    # pairs the DPO loop builds from pointwise scores follow the gate as well
    from steep.judge import pair_from_verdicts

    answers = [FAILING[0], PASSING[0], FAILING[1]]
    pair = pair_from_verdicts(PROMPT, answers, judge.judge_batch([PROMPT] * 3, answers))
    assert pair is None or pair.chosen == PASSING[0]


def test_passed_carries_the_gate_rules_so_strict_pass_rates_keep_their_meaning():
    judge = ensemble()
    good = judge.judge(PROMPT, PASSING[0])
    assert good.passed == {"no_pii": True, "cites_policy": True} and good.all_passed
    bad = judge.judge(PROMPT, FAILING[1])
    assert bad.passed == {"no_pii": False, "cites_policy": True} and bad.score == 0.0
    assert "no_pii: found 1 iban not from the user" in bad.rationale  # the user's own email is not counted
    assert judge.judge(PROMPT, "Send it to jane@example.com, see POL-1001.").all_passed


def test_score_is_the_weighted_mean_of_the_members_for_passing_answers():
    members = [
        {"judge": SOFT, "weight": 3.0},  # max 6 words
        {"judge": {"rules": [{"kind": "contains", "name": "branch", "text": "branch"}]}, "weight": 1.0},
    ]
    judge = ensemble(members=members)
    assert judge.judge(PROMPT, "Send it to the branch; see POL-1001.").score == pytest.approx((3 * 0 + 1 * 1) / 4)  # 7 words
    assert judge.judge(PROMPT, "Branch, POL-1001.").score == pytest.approx(1.0)
    assert judge.judge(PROMPT, "Post it: POL-1001.").score == pytest.approx(3 / 4)
    # with gate_fail_score g: passing -> g + (1 - g) m; failing -> g m
    lenient = ensemble(members=members, gate_fail_score=0.2)
    assert lenient.judge(PROMPT, "Post it: POL-1001.").score == pytest.approx(0.2 + 0.8 * 0.75)
    assert lenient.judge(PROMPT, "Please post it to the branch office today.").score == pytest.approx(0.2 * 0.25)
    assert 0.2 - 1e-5 < lenient.judge(PROMPT, "Post it to the branch.").score < 0.2  # m = 1: a hair under g


def test_members_are_not_asked_about_answers_the_gate_rejected():
    judge = ensemble()
    judge.members = [Adversary(judge.gate)]
    judge.judge_batch([PROMPT] * 4, [PASSING[0], FAILING[0], FAILING[1], PASSING[1]])
    assert judge.members[0].asked == 2
    assert judge.compare(PROMPT, FAILING[0], FAILING[1]).winner == "tie"  # both fail, both score 0


def test_pairwise_is_the_members_weighted_vote():
    judge = ensemble(members=[{"judge": SOFT, "weight": 2.0}, {"judge": SOFT, "weight": 1.0}])
    judge.members = [Fixed(0.5, "a", 0.9), Fixed(0.5, "b", 1.0)]
    c = judge.compare(PROMPT, PASSING[0], PASSING[1])
    assert c.winner == "a" and c.confidence == pytest.approx((2 * 0.9 - 1 * 1.0) / 3)
    judge.members = [Fixed(0.5, "tie", 0.0), Fixed(0.5, "b", 1.0)]
    assert judge.compare(PROMPT, PASSING[0], PASSING[1]).winner == "b"
    tied = ensemble(members=[{"judge": SOFT, "weight": 2.0}, {"judge": SOFT, "weight": 1.0}], tie_margin=0.5)
    tied.members = [Fixed(0.5, "a", 0.9), Fixed(0.5, "b", 1.0)]
    assert tied.compare(PROMPT, PASSING[0], PASSING[1]).winner == "tie"  # |0.267| <= 0.5


def test_without_a_gate_an_ensemble_is_a_weighted_mean_and_conversations_work():
    judge = ensemble(gate=None)
    convo = [*PROMPT, {"role": "assistant", "content": "Short answer here."}, {"role": "user", "content": "More?"},
             {"role": "assistant", "content": "one two three four five six seven"}]
    assert [v.score for v in judge.judge_conversation(convo)] == [1.0, 0.0]
    assert judge.judge(PROMPT, "x").passed == {}


def test_terms_are_needed_when_any_member_needs_them(tiny_model_dir):
    rules_only = TypeAdapter(JudgeConfig).validate_python({"kind": "ensemble", "gate": GATE, "members": [{"judge": SOFT}]})
    assert not needs_training_terms(rules_only)
    assert build_training_judge(rules_only, where="dpo.judge").identity.startswith("ensemble[gate=rules:2:")
    model = {"kind": "hf_local", "path": str(tiny_model_dir), "device": "cpu"}
    raw = {"kind": "ensemble", "gate": GATE, "members": [{"judge": SOFT}, {"judge": model, "weight": 2.0}]}
    config = TypeAdapter(JudgeConfig).validate_python(raw)
    assert needs_training_terms(config)
    with pytest.raises(TermsRefused, match=r"^dpo\.judge\.members\[1\]\.judge: the judge hf_local:"):
        build_training_judge(config, where="dpo.judge")
    nested = TypeAdapter(JudgeConfig).validate_python({"kind": "ensemble", "members": [{"judge": raw}]})
    with pytest.raises(TermsRefused, match=r"^rs\.judge\.members\[0\]\.judge\.members\[1\]\.judge: "):
        build_training_judge(nested, where="rs.judge")
    terms = {"allows_training_on_outputs": True, "source": "tests"}
    raw["members"][1]["judge"] = {**model, "terms": terms}
    judge = build_training_judge(TypeAdapter(JudgeConfig).validate_python(raw), where="dpo.judge")
    assert "2*hf_local:" in judge.identity


def test_with_real_model_members_scores_compare_and_usage(tiny_model_dir):
    model = {"kind": "hf_local", "path": str(tiny_model_dir), "device": "cpu", "batch_size": 4}
    judge = ensemble(members=[{"judge": model, "weight": 1.0}, {"judge": SOFT, "weight": 1.0}])
    verdicts = judge.judge_batch([PROMPT] * 4, [*PASSING[:2], *FAILING[:2]])
    assert all(0.0 <= v.score <= 1.0 for v in verdicts) and [v.score for v in verdicts[2:]] == [0.0, 0.0]
    assert judge.usage.calls == 2  # only the two passing answers reached the model
    assert judge.compare(PROMPT, FAILING[0], PASSING[0]).winner == "b"
    c = judge.compare(PROMPT, PASSING[0], PASSING[1])
    assert c.winner in ("a", "b", "tie") and judge.usage.calls == 4  # one comparison, asked in both orders


def test_bad_configs_name_their_yaml_path(tmp_path):
    cases = [
        ({"kind": "ensemble", "members": []}, "dpo.judge.members"),
        ({"kind": "ensemble", "members": [{"judge": SOFT, "weight": 0}]}, "dpo.judge.members[0].weight"),
        ({"kind": "ensemble", "gate": {"rules": [{"kind": "max_words", "name": "x", "max": 0}]}, "members": [{"judge": SOFT}]},
         "dpo.judge.gate.rules[0].max"),
        ({"kind": "ensemble", "members": [{"judge": {"rules": [{"kind": "regex_present", "name": "x", "pattern": "(("}]}}]},
         "dpo.judge.members[0].judge.rules[0].pattern"),
        ({"kind": "ensemble", "members": [{"judge": {"kind": "hf_local", "path": str(tmp_path / "none")}}]},
         "dpo.judge.members[0].judge.path"),
        ({"kind": "ensemble", "members": [{"judge": {"kind": "ensemble", "members": [{"judge": SOFT, "wieght": 1}]}}]},
         "dpo.judge.members[0].judge.members[0].wieght"),
        ({"kind": "ensemble", "gate_fail_score": 1.5, "members": [{"judge": SOFT}]}, "dpo.judge.gate_fail_score"),
    ]
    for raw, path in cases:
        with pytest.raises(ValidationError) as err:
            TypeAdapter(JudgeConfig).validate_python(raw)
        assert format_location(("dpo", "judge", *err.value.errors()[0]["loc"])) == path, raw


def test_a_pipeline_yaml_reports_a_bad_member_by_its_path(pipeline_dict, tiny_model_dir, tmp_path):
    from steep.pipeline.config import ConfigError, validate_pipeline_config

    member = {"kind": "reward_model", "path": str(tmp_path / "no_rm"), "scale": -1}
    pipeline_dict["dpo"]["judge"] = {"kind": "ensemble", "gate": GATE, "members": [{"judge": SOFT}, {"judge": member}]}
    with pytest.raises(ConfigError) as err:
        validate_pipeline_config(pipeline_dict)
    assert {path for path, _ in err.value.problems} == {"dpo.judge.members[1].judge.path", "dpo.judge.members[1].judge.scale"}
    pipeline_dict["dpo"]["judge"]["members"][1]["judge"] = {"kind": "hf_local", "path": str(tiny_model_dir)}
    assert validate_pipeline_config(pipeline_dict).dpo.judge.members[1].judge.kind == "hf_local"
