"""Exact dedup on a normalised hash; first seen wins."""

from __future__ import annotations

from steep.curate.dedup import ExactDedup, normalize_for_hash
from steep.curate.document import Document


def test_exact_duplicates_after_whitespace_case_and_punctuation_changes():
    dropped = []
    block = ExactDedup(on_drop=dropped.append)
    docs = [
        Document("a", "Refunds take five days."),
        Document("b", "refunds   TAKE\nfive days"),
        Document("c", "Refunds take six days."),
        Document("d", "  REFUNDS, take five days!  "),
    ]
    kept = list(block.run(docs))
    assert [d.id for d in kept] == ["a", "c"]
    assert [(d.doc.id, d.reason, d.detail) for d in dropped] == [
        ("b", "duplicate:exact", "a"),
        ("d", "duplicate:exact", "a"),
    ]
    assert block.stats.as_dict()["dropped"] == {"duplicate:exact": 2}


def test_normalization():
    assert normalize_for_hash("  Hello,\tWORLD!! ") == "hello world"
    assert normalize_for_hash("ｆｕｌｌ width") == "full width"
