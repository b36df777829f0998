"""Minimal quality filters."""

from __future__ import annotations

from steep.curate.config import QualityConfig
from steep.curate.document import Document, Drop
from steep.curate.quality import QualityFilter


def test_quality_reasons():
    block = QualityFilter(QualityConfig(min_words=3, min_alpha_ratio=0.5))
    assert block.apply(Document("1", " \n\t ")) == Drop("empty")
    assert block.apply(Document("2", "two words")).reason == "too_short"  # type: ignore[union-attr]
    assert block.apply(Document("3", "#### ---- 1234 5678 ==== !!!! a")).reason == "symbol_ratio"  # type: ignore[union-attr]
    ok = Document("4", "A perfectly ordinary sentence.")
    assert block.apply(ok) is ok
