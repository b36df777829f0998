"""Rules judge: every rule kind passes and fails where it should; configs fail loudly; scoring and ranking exact.

Run: PYTHONPATH=src python -m pytest tests/unit/test_judge_rules.py -q
"""

from __future__ import annotations

import typing

import pytest
from pydantic import TypeAdapter
from pydantic import ValidationError

from steep.judge import JudgeConfig, RulesJudge, RulesJudgeConfig, Verdict, build_judge, pair_from_verdicts, rank_verdicts
from steep.judge.rules import RULE_KINDS, Rule
from steep.pipeline.config import format_location
from steep.tasks.metrics import coherence_by_turn, coherence_late

DISCLAIMER = "This is general information, not financial advice."
ACCOUNT = "4839201756"
PROMPT = [
    {"role": "system", "content": "You are the Acme Bank assistant."},
    {"role": "user", "content": f"My account {ACCOUNT} was charged twice. Can I get a refund?"},
]
GOOD = f"Answer: Duplicate charges are refunded within 5 business days. {DISCLAIMER}\nSource: POL-0042"
HOUSE_FORMAT = r"Answer: .+\nSource: POL-\d{4}"


def judge_with(*rules: dict) -> RulesJudge:
    return RulesJudge(RulesJudgeConfig.model_validate({"rules": list(rules)}))


def one(rule: dict, answer: str, prompt: list[dict] | None = None) -> bool:
    verdict = judge_with({"name": "r", **rule}).judge(PROMPT if prompt is None else prompt, answer)
    return verdict.passed["r"]


# --- each rule kind -------------------------------------------------------------------------------------------


def test_regex_present():
    rule = {"kind": "regex_present", "pattern": r"POL-\d{4}"}
    assert one(rule, GOOD)
    assert not one(rule, "Answer: see our policy.\nSource: POL-42")


def test_regex_present_flags():
    rule = {"kind": "regex_present", "pattern": r"pol-\d{4}", "flags": ["IGNORECASE"]}
    assert one(rule, GOOD)
    assert not one({**rule, "flags": []}, GOOD)


def test_regex_absent_and_rationale_withholds_the_match():
    rule = {"kind": "regex_absent", "pattern": r"\b\d{10}\b"}
    assert one(rule, GOOD)
    verdict = judge_with({"name": "no_acct", **rule}).judge(PROMPT, f"Your account {ACCOUNT} is fine.")
    assert not verdict.passed["no_acct"]
    assert "matched 1 time(s)" in verdict.rationale
    assert ACCOUNT not in verdict.rationale


def test_contains_case_insensitive_by_default():
    rule = {"kind": "contains", "text": DISCLAIMER}
    assert one(rule, GOOD)
    assert one(rule, GOOD.upper())
    assert not one({**rule, "case_sensitive": True}, GOOD.upper())
    assert not one(rule, "Answer: yes.\nSource: POL-0001")


def test_max_words_and_rationale():
    judge = judge_with({"kind": "max_words", "name": "word_limit", "max": 5})
    assert judge.judge(PROMPT, "one two three four five").passed["word_limit"]
    verdict = judge.judge(PROMPT, "one two  three\nfour five six")
    assert verdict.passed == {"word_limit": False}
    assert verdict.rationale == "word_limit: 6 words > 5"


def test_min_words():
    rule = {"kind": "min_words", "min": 3}
    assert one(rule, "one two three")
    assert not one(rule, "one two")


def test_word_counts_can_ignore_boilerplate():
    """An answer that is only the required disclaimer and source line says nothing: with `ignore_pattern` the
    boilerplate is not counted, so it fails a `min_words` rule it would pass on raw words."""
    rule = {"kind": "min_words", "min": 4, "ignore_pattern": r"This is general information.*advice\.|Source: .*"}
    boilerplate = f"Answer: {DISCLAIMER}\nSource: POL-0042"
    assert one({"kind": "min_words", "min": 4}, boilerplate) and not one(rule, boilerplate)
    assert one(rule, GOOD)  # "Answer: Duplicate charges are refunded within 5 business days."
    assert one({"kind": "max_words", "max": 9, "ignore_pattern": rule["ignore_pattern"]}, GOOD)  # 8 words of content
    assert not one({"kind": "max_words", "max": 9}, GOOD)  # 17 words as written
    with pytest.raises(ValidationError, match="invalid regex"):
        judge_with({"kind": "max_words", "name": "x", "max": 3, "ignore_pattern": "(unclosed"})


def test_no_echo_catches_the_users_account_number_only():
    rule = {"kind": "no_echo", "pattern": r"\b\d{10}\b"}
    assert one(rule, GOOD)
    assert not one(rule, f"Answer: account {ACCOUNT} will be refunded.\nSource: POL-0042")
    # A different 10-digit number (the bank's hotline, from a policy) is not an echo.
    assert one(rule, "Answer: call 8005550199 for refunds.\nSource: POL-0042")


def test_no_echo_looks_at_every_user_message_but_not_the_system_prompt():
    prompt = [
        {"role": "system", "content": "Hotline 8005550199."},
        {"role": "user", "content": "Hi, CASE-00001."},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": f"It's account {ACCOUNT}."},
    ]
    rule = {"kind": "no_echo", "pattern": r"\b\d{10}\b"}
    assert not one(rule, f"Noted: {ACCOUNT}.", prompt)
    assert one(rule, "Call 8005550199.", prompt)


def test_format_full_match_with_flags():
    rule = {"kind": "format", "pattern": HOUSE_FORMAT}
    assert one(rule, GOOD)
    assert one(rule, "\n" + GOOD + "\n")  # surrounding whitespace from decoding is ignored
    assert not one(rule, GOOD + "\nThanks!")  # extra text after the source line
    assert not one(rule, "Sure! " + GOOD)
    multi = "Answer: Line one.\nMore detail.\nSource: POL-0001"
    assert not one(rule, multi)
    assert one({"kind": "format", "pattern": r"Answer: .+Source: POL-\d{4}", "flags": ["DOTALL"]}, multi)
    per_line = r"^Answer: .+$\n(?:^.*$\n)*^Source: POL-\d{4}$"
    assert one({"kind": "format", "pattern": per_line, "flags": ["MULTILINE"]}, multi)


def test_remembers_single_turn_uses_first_user_message():
    prompt = [{"role": "user", "content": "About CASE-12345: my card was blocked. Also CASE-99999."}]
    rule = {"kind": "remembers", "pattern": r"CASE-\d{5}"}
    assert one(rule, "Regarding CASE-12345, ...", prompt)
    assert not one(rule, "Regarding CASE-99999, ...", prompt)  # the *first* match is the one to remember
    assert one(rule, "No case here.", PROMPT)  # nothing to remember: passes


def test_no_repeat_passes_single_turn_and_catches_repeats_in_conversations():
    judge = judge_with({"kind": "no_repeat", "name": "no_repeat"})
    assert judge.judge(PROMPT, GOOD).all_passed
    convo = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "Same  answer.\n"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "Other answer."},
        {"role": "user", "content": "c"},
        {"role": "assistant", "content": " Same answer."},
    ]
    verdicts = judge.judge_conversation(convo)
    assert [v.all_passed for v in verdicts] == [True, True, False]
    assert verdicts[2].rationale == "no_repeat: repeats assistant turn 1 verbatim"


# --- config validation ----------------------------------------------------------------------------------------


def test_invalid_regex_names_the_pattern():
    with pytest.raises(ValidationError) as err:
        RulesJudgeConfig.model_validate(
            {
                "rules": [
                    {"kind": "max_words", "name": "a", "max": 3},
                    {"kind": "regex_present", "name": "b", "pattern": "POL-(\\d"},
                ]
            }
        )
    text = str(err.value)
    assert "invalid regex 'POL-(\\d': missing )" in text  # the pattern exactly as written in the YAML
    assert err.value.errors()[0]["loc"] == ("rules", 1, "regex_present", "pattern")  # kind tag: see RULE_KINDS


def test_every_rule_kind_is_dropped_from_yaml_paths():
    """Every kind the config accepts is in RULE_KINDS, so an error inside any rule prints as a plain YAML path."""
    union = typing.get_args(typing.get_args(Rule)[0])
    accepted = {member.model_fields["kind"].default for member in union}
    assert accepted == RULE_KINDS
    for kind in accepted:
        assert format_location(("dpo", "judge", "rules", 2, kind, "pattern")) == "dpo.judge.rules[2].pattern"


@pytest.mark.parametrize("kind", ["regex_absent", "no_echo", "format", "remembers"])
def test_every_regex_rule_validates_its_pattern(kind):
    with pytest.raises(ValidationError, match=r"invalid regex '\[a-'"):
        RulesJudgeConfig.model_validate({"rules": [{"kind": kind, "name": "x", "pattern": "[a-"}]})


def test_duplicate_names_rejected():
    with pytest.raises(ValidationError, match="repeated: dup"):
        RulesJudgeConfig.model_validate(
            {"rules": [{"kind": "max_words", "name": "dup", "max": 3}, {"kind": "min_words", "name": "dup", "min": 1}]}
        )


def test_unknown_kind_extra_key_empty_list_and_bad_values_rejected():
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        RulesJudgeConfig.model_validate({"rules": [{"kind": "sentiment", "name": "x"}]})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RulesJudgeConfig.model_validate({"rules": [{"kind": "max_words", "name": "x", "max": 3, "maximum": 4}]})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RulesJudgeConfig.model_validate({"rules": [{"kind": "max_words", "name": "x", "max": 3}], "strict": True})
    with pytest.raises(ValidationError):
        RulesJudgeConfig.model_validate({"rules": []})
    with pytest.raises(ValidationError):
        RulesJudgeConfig.model_validate({"rules": [{"kind": "max_words", "name": "x", "max": 3, "weight": 0}]})
    with pytest.raises(ValidationError):
        RulesJudgeConfig.model_validate(
            {"rules": [{"kind": "format", "name": "x", "pattern": "a", "flags": ["VERBOSE"]}]}
        )


def test_config_is_frozen():
    config = RulesJudgeConfig.model_validate({"rules": [{"kind": "max_words", "name": "x", "max": 3}]})
    with pytest.raises(ValidationError):
        config.rules[0].max = 10


# --- scoring, ranking, pairs ----------------------------------------------------------------------------------


def demo_judge() -> RulesJudge:
    return judge_with(
        {"kind": "regex_present", "name": "cites_policy", "pattern": r"POL-\d{4}", "weight": 2.0},
        {"kind": "contains", "name": "disclaimer", "text": DISCLAIMER},
        {"kind": "no_echo", "name": "no_account_echo", "pattern": r"\b\d{10}\b", "weight": 3.0},
        {"kind": "max_words", "name": "word_limit", "max": 25},
    )


def test_build_judge_returns_a_judge_whose_verdicts_are_right():
    config = TypeAdapter(JudgeConfig).validate_python(
        {"kind": "rules", "rules": [{"kind": "regex_present", "name": "cites_policy", "pattern": r"POL-\d{4}"}, {"kind": "max_words", "name": "short", "max": 3}]}
    )
    judge = build_judge(config)
    assert judge.judge(PROMPT, "See POL-0042.").passed == {"cites_policy": True, "short": True}
    verdict = judge.judge(PROMPT, "No policy applies to this, sorry.")
    assert verdict.passed == {"cites_policy": False, "short": False} and verdict.score == 0.0
    convo = [*PROMPT, {"role": "assistant", "content": "See POL-0042."}, {"role": "user", "content": "more?"}, {"role": "assistant", "content": "No."}]
    assert [v.score for v in judge.judge_conversation(convo)] == [1.0, 0.5]


def test_build_judge_refuses_an_unknown_kind():
    config = RulesJudgeConfig.model_validate({"rules": [{"kind": "max_words", "name": "x", "max": 3}]})
    with pytest.raises(ValueError, match="unknown judge kind 'llm'.*known: .*rules"):
        build_judge(config.model_copy(update={"kind": "llm"}))


def test_judge_identity_is_stable_and_names_its_rules():
    judge = demo_judge()
    assert judge.identity == demo_judge().identity  # the same config, the same identity, whenever it is built
    assert all(name in judge.identity for name in ("cites_policy", "disclaimer", "no_account_echo", "word_limit"))
    other = judge_with({"kind": "max_words", "name": "word_limit", "max": 25})
    assert other.identity != judge.identity


def test_weighted_score_arithmetic():
    judge = demo_judge()  # weights 2, 1, 3, 1: total 7
    assert judge.judge(PROMPT, GOOD).score == 1.0
    no_disclaimer = "Answer: Refunds take 5 days.\nSource: POL-0042"
    v = judge.judge(PROMPT, no_disclaimer)
    assert v.score == pytest.approx(6 / 7)  # 2 + 3 + 1 earned
    assert v.failed == ["disclaimer"]
    echo_no_cite = f"Answer: Account {ACCOUNT} gets a refund."
    v = judge.judge(PROMPT, echo_no_cite)
    assert v.score == pytest.approx(1 / 7)  # only word_limit (1) earned
    assert v.passed == {"cites_policy": False, "disclaimer": False, "no_account_echo": False, "word_limit": True}
    assert v.rationale.startswith("cites_policy: no match for /POL-\\d{4}/; disclaimer: missing ")
    assert ACCOUNT not in v.rationale


def test_rank_verdicts_is_deterministic_with_tie_breaks():
    judge = demo_judge()
    answers = [
        "Answer: Refunds take 5 days.\nSource: POL-0042",  # 0: 6/7, 6 words
        GOOD + " Extra words here.",  # 1: 1.0, longer
        GOOD,  # 2: 1.0, shorter -> best
        "Answer: Refunds take five days.\nSource: POL-0042",  # 3: 6/7, 6 words, more characters than 0
        "Answer: Refunds take 5 days.\nSource: POL-0042",  # 4: identical to 0 -> index breaks the tie
        "No.",  # 5: disclaimer and cites fail: 4/7
    ]
    verdicts = [judge.judge(PROMPT, a) for a in answers]
    assert rank_verdicts(answers, verdicts) == [2, 1, 0, 4, 3, 5]
    assert rank_verdicts(answers, [judge.judge(PROMPT, a) for a in answers]) == [2, 1, 0, 4, 3, 5]  # same again
    with pytest.raises(ValueError, match="6 answers but 5 verdicts"):
        rank_verdicts(answers, verdicts[:5])


def test_pair_from_verdicts_best_and_worst_and_ties():
    judge = demo_judge()

    def pair(answers, **kwargs):
        return pair_from_verdicts(PROMPT, answers, [judge.judge(PROMPT, a) for a in answers], **kwargs)

    answers = ["No.", GOOD, "Answer: Refunds take 5 days.\nSource: POL-0042"]
    best = pair(answers)
    assert best is not None
    assert (best.chosen_index, best.rejected_index) == (1, 0)
    assert best.margin == pytest.approx(1 - 4 / 7)
    record = best.to_record()
    assert record["prompt"] == PROMPT
    assert record["chosen"] == [{"role": "assistant", "content": GOOD}]
    assert record["rejected"] == [{"role": "assistant", "content": "No."}]
    assert record["chosen_score"] == 1.0 and "disclaimer" in record["rejected_rationale"]
    assert set(best.to_record(include_judgement=False)) == {"prompt", "chosen", "rejected"}

    assert pair([GOOD, GOOD + " Really."]) is None  # both score 1.0: a tie
    assert pair([GOOD]) is None
    assert pair(answers, min_margin=0.5) is None  # gap 3/7 < 0.5


def test_verdict_validates_and_round_trips():
    v = Verdict(score=0.5, passed={"a": True, "b": False}, rationale="b: why")
    assert Verdict.from_dict(v.to_dict()) == v
    with pytest.raises(ValueError):
        Verdict(score=1.5, passed={}, rationale="")
    with pytest.raises(ValueError):
        Verdict(score=float("nan"), passed={}, rationale="")


# --- conversations --------------------------------------------------------------------------------------------


def conversation(turns: int, forget_from: int) -> list[dict]:
    """A 10-turn support chat; assistant turns >= forget_from no longer mention the case id."""
    messages = [{"role": "system", "content": "You are the Acme Bank assistant."}]
    for k in range(1, turns + 1):
        user = f"Hi, this is about CASE-04711, account {ACCOUNT}." if k == 1 else f"Follow-up question {k}?"
        messages.append({"role": "user", "content": user})
        case = "" if k >= forget_from else " (CASE-04711)"
        messages.append({"role": "assistant", "content": f"Answer: Reply {k}{case}.\nSource: POL-{k:04d}"})
    return messages


def conversation_judge() -> RulesJudge:
    return judge_with(
        {"kind": "format", "name": "house_format", "pattern": HOUSE_FORMAT},
        {"kind": "remembers", "name": "remembers_case", "pattern": r"CASE-\d{5}"},
        {"kind": "no_repeat", "name": "no_repeat"},
        {"kind": "no_echo", "name": "no_account_echo", "pattern": r"\b\d{10}\b"},
    )


def test_judge_conversation_one_verdict_per_assistant_turn_and_late_coherence_drops():
    judge = conversation_judge()
    steady = judge.judge_conversation(conversation(10, forget_from=99))
    forgetful = judge.judge_conversation(conversation(10, forget_from=8))
    assert len(steady) == len(forgetful) == 10
    assert all(v.score == 1.0 for v in steady)
    assert [v.passed["remembers_case"] for v in forgetful] == [True] * 7 + [False] * 3
    assert forgetful[7].rationale == "remembers_case: does not mention 'CASE-04711' from the first user message"
    assert forgetful[9].score == pytest.approx(3 / 4)

    assert coherence_late([steady]) == 1.0
    assert coherence_late([forgetful]) == pytest.approx(0.75)
    assert coherence_late([forgetful]) < coherence_late([steady])
    assert coherence_by_turn([forgetful])[7] == 1.0 and coherence_by_turn([forgetful])[8] == 0.75


def test_judge_equals_last_turn_of_judge_conversation():
    judge = conversation_judge()
    messages = conversation(10, forget_from=8)
    verdicts = judge.judge_conversation(messages)
    # Assistant turn 5 is message index 10 (system + 2 per turn): prompt is everything before it.
    assert judge.judge(messages[:10], messages[10]["content"]) == verdicts[4]


def test_rules_judge_compares_by_score_and_ties_on_equal_scores():
    from steep.judge import RulesJudge, RulesJudgeConfig

    judge = RulesJudge(RulesJudgeConfig.model_validate({"rules": [{"name": "short", "kind": "max_words", "max": 3}]}))
    prompt = [{"role": "user", "content": "hi"}]
    assert judge.compare(prompt, "one two", "one two three four five").winner == "a"
    assert judge.compare(prompt, "one two three four five", "one two").winner == "b"
    assert judge.compare(prompt, "a b", "c d").winner == "tie"
    both = judge.compare_batch([(prompt, "x", "x y z w"), (prompt, "x y z w", "x")])
    assert [c.winner for c in both] == ["a", "b"]
    assert judge.usage.calls == 0  # rules cost nothing


def test_training_terms_refuse_without_declaration_and_source():
    import pytest

    from steep.judge.terms import JudgeTerms, TermsRefused, check_training_terms

    with pytest.raises(TermsRefused, match=r"dpo\.judge.*allows_training_on_outputs"):
        check_training_terms(None, who="openai:gpt", where="dpo.judge")
    with pytest.raises(TermsRefused, match="no `source`"):
        check_training_terms(JudgeTerms(allows_training_on_outputs=True), who="openai:gpt", where="dpo.judge")
    check_training_terms(JudgeTerms(allows_training_on_outputs=True, source="Apache-2.0"), who="x", where="dpo.judge")
