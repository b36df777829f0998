"""Offline language ID with py3langid: its model ships inside the wheel, so nothing is downloaded, ever.

    block = LanguageFilter(LanguageConfig(enabled=True, keep=["en"], min_confidence=0.5))
    block.apply(Document("1", "Le client a demandé la limite de découvert."))  # Drop('language:fr', ...)

Every document gets `meta.language` (ISO 639-1 code) and `meta.language_confidence` (normalised probability).
A document whose language is not in `keep` is dropped as `language:<code>`; one whose top language is below
`min_confidence` is dropped as `language:uncertain` (short or mixed text, code, tables). Only the first
`max_chars` characters are classified: langid's cost is linear in text length and the first 2,000 characters
decide the language of all but mixed documents. The model (~3 s to load) is loaded once per process, on
first use.

In the chain it runs before `quality`, so the English stop-word filter can skip non-English documents.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from steep.curate.block import Block, DropSink
from steep.curate.config import LanguageConfig
from steep.curate.document import Document, Drop


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, max_chars: int = 2000) -> tuple[str, float]:
    """(ISO 639-1 code, probability) of the first `max_chars` characters of `text`."""
    code, probability = _identifier().classify(text[:max_chars])
    return str(code), float(probability)


class LanguageFilter(Block):
    name = "language"

    def __init__(self, cfg: LanguageConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or LanguageConfig(enabled=True)
        self.keep = frozenset(self.cfg.keep)

    def apply(self, doc: Document) -> Document | Drop:
        if not doc.text.strip():  # nothing to classify: `quality` drops it as `empty`, the more useful reason
            return doc
        code, confidence = detect_language(doc.text, self.cfg.max_chars)
        self.stats.counters[f"lang:{code}"] += 1
        if confidence < self.cfg.min_confidence:
            return Drop("language:uncertain", f"top language {code} at {confidence:.2f} < {self.cfg.min_confidence}")
        if self.keep and code not in self.keep:
            return Drop(f"language:{code}", f"{code} ({confidence:.2f}) not in keep {sorted(self.keep)}")
        return replace(doc, meta={**doc.meta, "language": code, "language_confidence": round(confidence, 4)})
