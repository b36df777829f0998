"""The `no_pii` rule: curate's PII detectors, applied to an answer, forgiving only what the user typed.

Run: PYTHONPATH=src python -m pytest tests/unit/test_judge_pii_rule.py -q
"""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from steep.judge import JudgeConfig, RulesJudge, RulesJudgeConfig, build_judge
from steep.pipeline.config import format_location

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"  # Visa test number: passes Luhn
IBAN = "DE89 3704 0044 0532 0130 00"  # the standard example IBAN: mod-97 checks out
PROMPT = [{"role": "user", "content": "How do I dispute a charge?"}]


def judge(**rule) -> RulesJudge:
    return RulesJudge(RulesJudgeConfig.model_validate({"rules": [{"kind": "no_pii", "name": "no_pii", **rule}]}))


@pytest.mark.parametrize("value,kind", [(EMAIL, "email"), (CARD, "card"), (IBAN, "iban")])
def test_no_pii_catches_a_leaked_value_and_names_only_its_type(value, kind):
    verdict = judge().judge(PROMPT, f"Send the form with {value} to our back office.")
    assert verdict.passed == {"no_pii": False} and verdict.score == 0.0
    assert verdict.rationale == f"no_pii: found 1 {kind} not from the user"
    assert value not in verdict.rationale  # never the value itself


@pytest.mark.parametrize("value", [EMAIL, CARD, IBAN])
def test_no_pii_forgives_what_the_user_typed_even_reformatted(value):
    prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"My details: {value}"}]
    assert judge().judge(prompt, f"Noted: {value}.").passed["no_pii"]
    squeezed = value.replace(" ", "").upper()
    assert judge().judge(prompt, f"Noted: {squeezed}.").passed["no_pii"]
    # ... but not from the system prompt or an earlier assistant turn: only the user's own words.
    prompt = [{"role": "system", "content": f"Escalations: {value}"}, {"role": "user", "content": "Who do I ask?"}]
    assert not judge().judge(prompt, f"Ask {value}.").passed["no_pii"]


def test_no_pii_counts_by_type_and_respects_types():
    answer = f"Pay from {IBAN} or card {CARD}; questions to {EMAIL} or ops@example.org."
    verdict = judge().judge(PROMPT, answer)
    assert verdict.rationale == "no_pii: found 1 card, 2 email, 1 iban not from the user"
    assert judge(types=["iban"]).judge(PROMPT, f"Mail {EMAIL}.").passed["no_pii"]
    assert not judge(types=["iban"]).judge(PROMPT, f"Pay to {IBAN}.").passed["no_pii"]
    assert judge().judge(PROMPT, "Call the branch and ask for form D-12.").passed["no_pii"]


def test_no_pii_catches_a_secret():
    verdict = judge(types=["secret"]).judge(PROMPT, "Use the key AKIAIOSFODNN7EXAMPLE to call the API.")
    assert not verdict.passed["no_pii"] and "secret" in verdict.rationale
    assert "AKIA" not in verdict.rationale


def test_no_pii_bad_type_fails_with_the_yaml_path():
    with pytest.raises(ValidationError) as err:
        TypeAdapter(JudgeConfig).validate_python({"rules": [{"kind": "no_pii", "name": "p", "types": ["emial"]}]})
    loc = err.value.errors()[0]["loc"]
    assert format_location(("dpo", "judge", *loc)) == "dpo.judge.rules[0].types[0]"
    with pytest.raises(ValidationError):
        RulesJudgeConfig.model_validate({"rules": [{"kind": "no_pii", "name": "p", "types": []}]})


def test_no_pii_in_a_conversation():
    j = build_judge(TypeAdapter(JudgeConfig).validate_python({"rules": [{"kind": "no_pii", "name": "no_pii"}]}))
    convo = [
        {"role": "user", "content": f"I'm {EMAIL}."},
        {"role": "assistant", "content": f"Thanks, {EMAIL}."},
        {"role": "user", "content": "And the refund?"},
        {"role": "assistant", "content": f"It goes to {IBAN}."},
    ]
    assert [v.all_passed for v in j.judge_conversation(convo)] == [True, False]
