"""Offline language ID: py3langid's bundled model, loaded once, no download."""

from __future__ import annotations

import pytest

from steep.curate.config import CurateConfig, LanguageConfig
from steep.curate.document import Document, Drop
from steep.curate.langid import LanguageFilter, detect_language

SAMPLES = {
    "en": "The customer asked whether the overdraft limit on her current account could be raised this month.",
    "fr": "Le client a demandé si la limite de découvert de son compte courant pouvait être relevée ce mois-ci.",
    "de": "Der Kunde fragte, ob der Dispositionsrahmen seines Girokontos in diesem Monat erhöht werden kann.",
    "es": "El cliente preguntó si el límite de descubierto de su cuenta corriente podía aumentarse este mes.",
}


@pytest.mark.parametrize(("code", "text"), SAMPLES.items())
def test_detects_language(code, text):
    found, confidence = detect_language(text)
    assert found == code and confidence > 0.8


def test_filter_keeps_listed_languages_and_marks_meta():
    block = LanguageFilter(LanguageConfig(enabled=True, keep=["en", "de"]))
    kept = block.apply(Document("en", SAMPLES["en"], {"source": "x:1"}))
    assert isinstance(kept, Document) and kept.meta["language"] == "en" and kept.meta["source"] == "x:1"
    assert isinstance(block.apply(Document("de", SAMPLES["de"])), Document)
    dropped = block.apply(Document("fr", SAMPLES["fr"]))
    assert isinstance(dropped, Drop) and dropped.reason == "language:fr"
    assert block.apply(Document("es", SAMPLES["es"])).reason == "language:es"  # type: ignore[union-attr]


def test_min_confidence_drops_unclear_text():
    block = LanguageFilter(LanguageConfig(enabled=True, keep=[], min_confidence=0.5))
    assert block.apply(Document("n", "1234 5678 9012")).reason == "language:uncertain"  # type: ignore[union-attr]
    assert isinstance(block.apply(Document("fr", SAMPLES["fr"])), Document)  # keep: [] keeps every language


def test_off_by_default_and_in_chain_before_quality():
    from steep.curate.stage import build_blocks

    assert LanguageConfig().enabled is False
    names = [b.name for b in build_blocks(CurateConfig(inputs=["x.jsonl"], language={"enabled": True}))]
    assert "language" not in [b.name for b in build_blocks(CurateConfig(inputs=["x.jsonl"]))]
    assert names.index("language") < names.index("quality")


def test_empty_text_is_left_to_quality():
    doc = Document("e", "  \n ")
    assert LanguageFilter(LanguageConfig(enabled=True)).apply(doc) is doc
