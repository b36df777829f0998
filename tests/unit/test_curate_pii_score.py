"""The PII scorer's counting rules, and the steep engine's recall/precision on a freshly generated demo lake."""

from __future__ import annotations

from steep.curate.pii import find_pii
from steep.curate.pii.detect import PiiSpan
from steep.curate.pii.score import load_rows, score_pii

TARGET_TYPES = ("email", "phone", "card", "iban", "ssn", "ip")


def fixed(spans):
    return lambda text: spans


def test_partial_cover_counts_for_precision_not_recall():
    text = "card 4820 0312 2346 0143 here"
    lake = [{"id": "a", "text": text}]
    labels = [{"id": "a", "pii": [{"type": "card", "value": "4820 0312 2346 0143"}]}]
    partial = [PiiSpan("card", 5, 19, text[5:19])]  # leaves "0143" behind
    score = score_pii(lake, labels, fixed(partial))["card"]
    assert (score.labeled, score.found, score.detected, score.correct) == (1, 0, 1, 1)
    full = [PiiSpan("card", 5, 24, text[5:24])]
    assert score_pii(lake, labels, fixed(full))["card"].recall == 1.0


def test_wrong_type_and_unlabeled_spans_are_false_positives():
    text = "mail a@b.com, ref 12345678"
    lake = [{"id": "a", "text": text}]
    labels = [{"id": "a", "pii": [{"type": "email", "value": "a@b.com"}]}]
    spans = [PiiSpan("phone", 5, 12, "a@b.com"), PiiSpan("secret", 18, 26, "12345678")]
    scores = score_pii(lake, labels, fixed(spans))
    assert scores["email"].recall == 0.0
    assert scores["phone"].precision == 0.0 and scores["secret"].precision == 0.0


def test_ocr_damaged_values_match_approximately():
    text = "wrote from zoerossi@examp1e.com today"
    lake = [{"id": "a", "text": text}]
    labels = [{"id": "a", "pii": [{"type": "email", "value": "zoerossi@example.com"}]}]
    score = score_pii(lake, labels, find_pii)["email"]
    assert score.not_in_text == 1 and score.labeled == 0 and score.precision == 1.0


def test_name_account_needs_the_number_and_the_name_when_names_are_detected():
    text = "Account holder: Grace Garcia, account number 6876114397."
    value = "Grace Garcia, account number 6876114397"
    lake, labels = [{"id": "a", "text": text}], [{"id": "a", "pii": [{"type": "name_account", "value": value}]}]
    assert score_pii(lake, labels, lambda t: find_pii(t, ["account"]))["name_account"].recall == 1.0
    both = score_pii(lake, labels, find_pii)["name_account"]
    assert both.recall == 1.0 and both.detected == 2 and both.precision == 1.0
    only_number = [s for s in find_pii(text) if s.type == "account"] + [PiiSpan("name", 16, 21, "Grace")]
    assert score_pii(lake, labels, fixed(only_number))["name_account"].recall == 0.0


def test_steep_engine_meets_the_targets_on_the_demo_lake(demo_data):
    scores = score_pii(load_rows(demo_data / "lake.jsonl"), load_rows(demo_data / "labels.jsonl"), find_pii)
    for kind in (*TARGET_TYPES, "name_account"):
        assert scores[kind].labeled > 0, kind
        assert scores[kind].recall >= 0.98, (kind, scores[kind])
        assert scores[kind].precision >= 0.98, (kind, scores[kind])
    # The new types flag nothing in the demo lake, which has no secrets and no URLs with credentials.
    assert "secret" not in scores and "url_credentials" not in scores
