"""Minimal quality filters, run after repair: empty, too short, too few letters.

    QualityFilter(QualityConfig(min_words=5)).apply(Document("1", "ok"))  # Drop(reason='too_short', ...)

Reasons: `empty` (nothing but whitespace), `too_short` (fewer than `min_words` whitespace-separated
words), `symbol_ratio` (alphabetic characters are less than `min_alpha_ratio` of non-space characters).
"""

from __future__ import annotations

from steep.curate.block import Block, DropSink
from steep.curate.config import QualityConfig
from steep.curate.document import Document, Drop


def alpha_ratio(text: str) -> float:
    """Share of alphabetic characters among non-whitespace characters (0.0 for an empty text)."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 0.0
    return sum(c.isalpha() for c in visible) / len(visible)


class QualityFilter(Block):
    name = "quality"

    def __init__(self, cfg: QualityConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or QualityConfig()

    def apply(self, doc: Document) -> Document | Drop:
        if not doc.text.strip():
            return Drop("empty")
        words = len(doc.text.split())
        if words < self.cfg.min_words:
            return Drop("too_short", f"{words} words < {self.cfg.min_words}")
        ratio = alpha_ratio(doc.text)
        if ratio < self.cfg.min_alpha_ratio:
            return Drop("symbol_ratio", f"alphabetic share {ratio:.2f} < {self.cfg.min_alpha_ratio}")
        return doc
