"""Stage metrics on hand-computed inputs. Run: PYTHONPATH=src python -m pytest tests/unit/test_metrics.py -q"""

from __future__ import annotations

import math
import re

import pytest

from steep.tasks.metrics import (
    all_rules_pass_rate,
    bits_per_byte,
    coherence_by_turn,
    coherence_late,
    format_adherence,
    mean_words,
    per_rule_pass_rates,
    rule_pass_rate,
)
from steep.judge import Verdict

HOUSE_FORMAT = r"Answer: .+\nSource: POL-\d{4}"


def v(score: float, **passed: bool) -> Verdict:
    return Verdict(score=score, passed=passed, rationale="")


def test_format_adherence():
    answers = [
        "Answer: Yes.\nSource: POL-0001",  # match
        "Answer: Yes.\nSource: POL-0001\n",  # match: trailing whitespace stripped
        "Answer: Yes.\nSource: POL-1",  # no: 1 digit
        "Yes.\nSource: POL-0001",  # no: no Answer line
    ]
    assert format_adherence(answers, HOUSE_FORMAT) == 0.5  # 2 of 4
    assert format_adherence(answers, re.compile(HOUSE_FORMAT)) == 0.5
    assert format_adherence(["answer: y\nsource: pol-0001"], HOUSE_FORMAT, re.IGNORECASE) == 1.0
    with pytest.raises(ValueError):
        format_adherence([], HOUSE_FORMAT)


def test_rule_pass_rates():
    verdicts = [v(1.0, a=True, b=True), v(0.5, a=True, b=False), v(0.0, a=False, b=False), v(0.75, a=True, c=False)]
    assert rule_pass_rate(verdicts) == pytest.approx((1.0 + 0.5 + 0.0 + 0.75) / 4)  # 0.5625
    assert all_rules_pass_rate(verdicts) == 0.25  # only the first passes everything
    # a: 3 of 4; b: 1 of 3 (absent from the last); c: 0 of 1
    assert per_rule_pass_rates(verdicts) == pytest.approx({"a": 0.75, "b": 1 / 3, "c": 0.0})
    assert list(per_rule_pass_rates(verdicts)) == ["a", "b", "c"]
    with pytest.raises(ValueError):
        rule_pass_rate([])


def test_mean_words():
    assert mean_words(["one two three", "four", "  five\nsix  "]) == pytest.approx((3 + 1 + 2) / 3)
    assert mean_words([""]) == 0.0


def test_coherence_by_turn_and_late():
    short = [v(1.0), v(0.5)]  # 2 turns
    long_ = [v(1.0)] * 7 + [v(0.5), v(0.0), v(1.0)]  # 10 turns
    other = [v(0.0)] * 8  # 8 turns
    by_turn = coherence_by_turn([short, long_, other])
    assert by_turn[1] == pytest.approx((1.0 + 1.0 + 0.0) / 3)
    assert by_turn[2] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert by_turn[8] == pytest.approx((0.5 + 0.0) / 2)
    assert by_turn[10] == 1.0
    assert list(by_turn) == list(range(1, 11))
    # turns >= 8, pooled: long_ contributes 0.5, 0.0, 1.0; other contributes 0.0; short none -> 1.5 / 4
    assert coherence_late([short, long_, other]) == pytest.approx(0.375)
    assert coherence_late([short, long_, other], from_turn=10) == 1.0
    assert coherence_late([short]) == 0.0  # no conversation reaches turn 8
    assert coherence_late([]) == 0.0
    assert coherence_by_turn([]) == {}
    with pytest.raises(ValueError):
        coherence_late([short], from_turn=0)


def test_bits_per_byte():
    # 250 tokens * 2.0 nats = 500 nats = 500 / ln 2 = 721.35 bits over 1000 bytes
    assert bits_per_byte(500.0, 1000) == pytest.approx(0.7213475)
    assert bits_per_byte(math.log(2) * 8, 1) == pytest.approx(8.0)  # 8 bits in one byte
    assert bits_per_byte(0.0, 10) == 0.0
    with pytest.raises(ValueError):
        bits_per_byte(1.0, 0)
    with pytest.raises(ValueError):
        bits_per_byte(float("nan"), 10)
