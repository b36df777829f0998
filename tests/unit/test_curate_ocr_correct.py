"""OCR repair that corrects characters: the word corrector, ftfy only on real mojibake, compound-keeping
de-hyphenation, and the garbage score on real OCR.

`data/ocr_real_excerpt.jsonl` holds five ~1.5-3k character pieces of the ICDAR 2017 post-OCR competition's English
pages (public domain: British Library scans, 1858-1894), OCR and human gold standard, so these tests need no
shared data. The whole set is scored by bench/curate/ocr_real.py (numbers in bench/curate/RESULTS.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from steep.curate.clean import LIGATURES, clean_text, fix_unicode
from steep.curate.config import CleanConfig
from steep.curate.ocr_correct import best_correction, correct_words
from steep.curate.ocr_quality import levenshtein, ocr_garbage_ratio

EXCERPT = Path(__file__).parent / "data" / "ocr_real_excerpt.jsonl"


@pytest.mark.parametrize(
    ("ocr", "fixed"),
    [
        ("tbe", "the"),  # h read as b
        ("Tbe", "The"),  # case kept
        ("tlie", "the"),  # h read as li
        ("tiie", "the"),
        ("rnay", "may"),  # m read as rn
        ("shaU", "shall"),  # ll read as U
        ("aU", "all"),
        ("wiU", "will"),
        ("Hke", "like"),  # li read as H: the capital was the misread
        ("whieh", "which"),  # c read as e
        ("fuch", "such"),  # long s read as f
        ("rea1", "real"),  # l read as 1
    ],
)
def test_common_confusions_are_corrected(ocr, fixed):
    assert best_correction(ocr) == fixed


def test_correction_keeps_punctuation_and_spacing():
    assert correct_words("we said (tbe) man shaU go, aU of it.  tbe end") == "we said (the) man shall go, all of it.  the end"
    assert correct_words("glad hereof,and so") == "glad hereof, and so"
    assert correct_words("and 1 have seen it. 1 was there") == "and I have seen it. I was there"
    assert correct_words("Day 1 was fine. Step 1 is done, 1 more to go") == "Day 1 was fine. Step 1 is done, 1 more to go"


@pytest.mark.parametrize(
    "word",
    [
        "modem",  # a real word: never corrected, even where OCR made it of `modern`
        "the",
        "Kingfisher",
        "IBAN",
        "SKU",
        "Kowalczyk",
        "Hern",  # a surname one confusion from `Hem`
        "Nguyen",
        "iPhone",
        "PayPal",
        "OAuth2",
        "kfp200x",
        "Lnnd",  # ambiguous (land? lend? lind?): left as written
        "autho",
    ],
)
def test_words_names_and_codes_are_not_corrected(word):
    assert best_correction(word) is None


BUSINESS = """Dear Ms. Kowalczyk, your Kingfisher Pro order KF-2291 shipped. IBAN DE89370400440532013000, SKU kfp200x,
email j.nguyen@acme-corp.com, call +44 20 7946 0958. Invoice INV-2024-0042 for 1,250.00 EUR is due on 2024-05-01.
Contact Siobhan Ní Bhraonáin or Zbigniew Brzęczyszczykiewicz at Hernández & Sørensen GmbH, 12 Hern Bay Road.
Our SaaS dashboard uses OAuth2, Kubernetes, PostgreSQL and gRPC; see https://docs.acme.io/v2/setup and run
`pip install steep==0.1`. Step 1 is the audit; option 1 was chosen by 3 of 4 reviewers (x 2 for Q&A - see p. 4)."""


def test_modern_business_text_is_untouched():
    assert correct_words(BUSINESS) == BUSINESS
    assert clean_text(BUSINESS, CleanConfig(join_lines=False)) == BUSINESS
    assert ocr_garbage_ratio(BUSINESS) == 0.0


def test_text_that_is_not_english_is_not_corrected():
    german = "Der Hund und die Katze sind tbe Freunde, sagte er."
    assert correct_words(german) == german
    pseudo = "vokta rimsel tbe dravon kuplet"  # identifiers, pseudo-words: nothing to read as English
    assert correct_words(pseudo) == pseudo


def test_a_form_the_document_repeats_gets_confusions_only():
    # `trom` once is a misread `from` (one plain edit); written twice it may be the text's own word, and `t` for
    # `f` is no confusion in the table. Old spellings (`himselfe`) stay either way: an added letter costs more.
    assert correct_words("came trom the hill") == "came from the hill"
    assert correct_words("came trom the hill, trom the sea") == "came trom the hill, trom the sea"
    assert correct_words("he himselfe went") == "he himselfe went"
    assert correct_words("tbe man and tbe dog") == "the man and the dog"  # a systematic misread is still fixed


def test_ftfy_encoding_fix_only_on_real_mojibake():
    assert fix_unicode("cafÃ©") == "café"
    assert fix_unicode("The naÃ¯ve crÃ¨me brÃ»lÃ©e costs â‚¬5 â€” donâ€™t ask.") == (
        "The naïve crème brûlée costs €5 — don’t ask."
    )
    assert fix_unicode("Ä«l Mundnrr.il.") == "Ä«l Mundnrr.il."  # OCR noise, not UTF-8 read as cp1252
    assert fix_unicode("cafÃ© and Ä«l Mundnrr.il.") == "café and Ä«l Mundnrr.il."
    assert clean_text("Ä«l Mundnrr.il.") == "Ä«l Mundnrr.il."


def test_dehyphenation_keeps_real_compounds():
    assert clean_text("the well-\nknown author") == "the well-known author"
    assert clean_text("some self-\nevident truths") == "some self-evident truths"
    assert clean_text("the infor-\nmation is here") == "the information is here"
    assert clean_text("the con-\ntent is here") == "the content is here"  # both halves words, and so is the join


def _rows() -> list[dict]:
    return [json.loads(line) for line in EXCERPT.open(encoding="utf-8")]


def _cer(hyp: str, ref: str) -> float:
    def comparable(text: str) -> str:
        return re.sub(r"\s+", " ", text.translate(LIGATURES)).strip()

    return levenshtein(comparable(hyp), comparable(ref)) / len(comparable(ref))


def test_repair_lowers_cer_on_real_ocr_and_no_piece_gets_much_worse():
    rows = _rows()
    raw = [_cer(r["ocr"], r["gold"]) for r in rows]
    repaired = [_cer(clean_text(r["ocr"]), r["gold"]) for r in rows]
    assert sum(repaired) < sum(raw) - 0.005, (raw, repaired)  # measured: 0.2135 -> 0.2051
    assert all(after <= before + 0.002 for before, after in zip(raw, repaired, strict=True)), (raw, repaired)


def test_garbage_ratio_is_higher_on_worse_pages():
    rows = _rows()
    scored = sorted(rows, key=lambda r: _cer(r["ocr"], r["gold"]))
    ratios = [ocr_garbage_ratio(clean_text(r["ocr"])) for r in scored]  # ordered from best scan to worst
    # measured: CER 0.9 %, 0.7 %, 3.4 %, 6.4 %, 9.9 % -> ratio 0.013, 0.026, 0.024, 0.091, 0.107
    assert ratios[-1] > ratios[-2] > max(ratios[:3])
    assert min(ratios[-2:]) > 3 * min(ratios[:2])
