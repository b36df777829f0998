"""Quality filters: every heuristic drops with its own reason, and the defaults keep the demo's good documents."""

from __future__ import annotations

import json

import pytest

from steep.curate.clean import clean_text
from steep.curate.config import QualityConfig
from steep.curate.document import Document, Drop
from steep.curate.quality import (
    QualityFilter,
    TextStats,
    duplicate_ngram_char_fraction,
    top_ngram_char_fraction,
)

PROSE = (
    "The customer wrote to ask whether the overdraft limit could be raised before the end of the month. "
    "We explained that a credit assessment is needed and that the answer comes within five working days. "
    "She agreed to send her last three payslips, and the case was closed with a note to follow up."
)
# Every filter off: a test turns on the one it checks, so a drop can only come from that filter.
OFF = {
    "min_words": 0,
    "max_words": None,
    "min_alpha_ratio": 0.0,
    "min_mean_word_length": None,
    "max_mean_word_length": None,
    "max_symbol_word_ratio": None,
    "max_bullet_lines": None,
    "max_ellipsis_lines": None,
    "max_duplicate_line_fraction": None,
    "max_duplicate_line_chars": None,
    "max_duplicate_paragraph_fraction": None,
    "max_duplicate_paragraph_chars": None,
    "max_top_ngram_chars": {},
    "max_duplicate_ngram_chars": {},
    "ocr_score": False,
}


def reason(cfg: dict, text: str) -> str | None:
    out = QualityFilter(QualityConfig(**{**OFF, **cfg})).apply(Document("d", text))
    return out.reason if isinstance(out, Drop) else None


def test_legacy_reasons():
    block = QualityFilter(QualityConfig(min_words=3, min_alpha_ratio=0.5))
    assert block.apply(Document("1", " \n\t ")) == Drop("empty")
    assert block.apply(Document("2", "two words")).reason == "too_short"  # type: ignore[union-attr]
    out = block.apply(Document("3", "#### ---- 1234 5678 ==== !!!! a"))
    assert isinstance(out, Drop) and out.reason == "symbol_ratio"
    ok = Document("4", "A perfectly ordinary sentence.")
    out = block.apply(ok)
    assert isinstance(out, Document) and out.text == ok.text and out.meta["ocr_garbage_ratio"] == 0.0


@pytest.mark.parametrize(
    ("cfg", "bad"),
    [
        ({"max_words": 20}, PROSE),
        ({"min_mean_word_length": 3.0}, "a b c d e f g h i j k l m n o p"),
        ({"max_mean_word_length": 10.0}, "supercalifragilistic antidisestablishmentarianism " * 5),
        ({"max_symbol_word_ratio": 0.1}, "#tag #more #hashtags and then... and so... on"),
        ({"max_bullet_lines": 0.9}, "- one thing\n- another thing\n* a third thing\n1. a fourth"),
        ({"max_ellipsis_lines": 0.3}, "And then...\nWe waited...\nNothing happened at all.\nThe end…"),
        ({"min_alpha_words": 0.8}, "Order 1234 5678 9012 total 3456 7890 shipped"),
        ({"min_stop_words": 2}, "Quarterly revenue grew strongly across every region this year."),
        ({"max_duplicate_line_fraction": 0.3}, "Click here\nClick here\nClick here\nA real line of text"),
        (
            {"max_duplicate_line_chars": 0.2},
            "A very long repeated navigation line\nA very long repeated navigation line\nx",
        ),
        ({"max_duplicate_paragraph_fraction": 0.3}, "Buy now.\n\nBuy now.\n\nBuy now.\n\nReal text here."),
        (
            {"max_duplicate_paragraph_chars": 0.2},
            "Subscribe to our newsletter today.\n\nSubscribe to our newsletter today.",
        ),
        ({"max_top_ngram_chars": {2: 0.2}}, "best price best price best price for the best price shoes"),
        ({"max_duplicate_ngram_chars": {5: 0.15}}, "we sell the finest shoes in town " * 3 + "come and see them"),
    ],
)
def test_each_filter_drops_with_its_reason_and_keeps_prose(cfg, bad):
    expected = {
        "max_words": "too_long",
        "min_mean_word_length": "word_length",
        "max_mean_word_length": "word_length",
        "max_symbol_word_ratio": "symbol_word_ratio",
        "max_bullet_lines": "bullet_lines",
        "max_ellipsis_lines": "ellipsis_lines",
        "min_alpha_words": "alpha_words",
        "min_stop_words": "stop_words",
        "max_duplicate_line_fraction": "duplicate_lines",
        "max_duplicate_line_chars": "duplicate_lines",
        "max_duplicate_paragraph_fraction": "duplicate_paragraphs",
        "max_duplicate_paragraph_chars": "duplicate_paragraphs",
        "max_top_ngram_chars": "top_ngram:2",
        "max_duplicate_ngram_chars": "duplicate_ngrams:5",
    }[next(iter(cfg))]
    assert reason(cfg, bad) == expected
    if "max_words" not in cfg:
        assert reason(cfg, PROSE) is None  # the same threshold keeps ordinary prose


def test_stop_words_skip_documents_marked_non_english():
    block = QualityFilter(QualityConfig(**{**OFF, "min_stop_words": 2}))
    german = "Der Kunde fragte nach dem Dispositionsrahmen seines Kontos."
    assert isinstance(block.apply(Document("de", german)), Drop)
    assert isinstance(block.apply(Document("de", german, {"language": "de"})), Document)


def test_repetition_measures():
    words = ["a", "b", "a", "b", "a", "b"]
    assert top_ngram_char_fraction(words, 2, 6) == pytest.approx(1.0)  # "a b" x3 covers everything
    assert duplicate_ngram_char_fraction(["x", "y", "z", "w", "v", "x", "y", "z", "w", "v"], 5, 10) == pytest.approx(
        0.5
    )
    assert (
        duplicate_ngram_char_fraction(
            ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"], 5, 39
        )
        == 0.0
    )
    stats = TextStats("Don't stop: 2021-04-08, £2,500!")
    assert stats.words == ["Don't", "stop", "2021-04-08", "2,500"]  # one split, shared by every filter


def test_c4_line_filter_is_off_by_default_and_works_when_on():
    text = "KESTREL MUTUAL\nThe claim was paid in full.\nItem one\nIs that all?"
    assert QualityConfig().c4_end_punctuation_lines is False
    out = QualityFilter(QualityConfig(**{**OFF, "c4_end_punctuation_lines": True})).apply(Document("d", text))
    assert isinstance(out, Document) and out.text == "The claim was paid in full.\nIs that all?"


def test_ocr_garbage_threshold():
    block = QualityFilter(QualityConfig(**{**OFF, "max_ocr_garbage": 0.1}))
    out = block.apply(Document("d", "The rea1 t3xt of this w0rd is bad"))
    assert isinstance(out, Drop) and out.reason == "ocr_garbage"
    assert isinstance(block.apply(Document("d", PROSE)), Document)


def test_defaults_keep_every_good_demo_document(demo_data_full):
    """Default filters on the demo lake after repair: only the junk and empty documents go, none labeled good
    (PII-dense, number-heavy, OCR-repaired and mojibake-repaired ones included)."""
    lake = [json.loads(line) for line in (demo_data_full / "lake.jsonl").open()]
    labels = {row["id"]: row for row in map(json.loads, (demo_data_full / "labels.jsonl").open())}
    block = QualityFilter(QualityConfig())
    dropped_good, dropped_bad = [], 0
    for row in lake:
        label = labels[row["id"]]
        out = block.apply(Document(row["id"], clean_text(row["text"]), row["meta"]))
        if isinstance(out, Drop):
            if label["junk"] or label["empty"]:
                dropped_bad += 1
            else:
                dropped_good.append((row["id"], out.reason, out.detail))
    assert dropped_good == []
    assert dropped_bad == sum(1 for lab in labels.values() if lab["junk"] or lab["empty"])
