"""Redaction: PII spans replaced by typed placeholders (`<EMAIL>`) or consistent pseudonyms, and the curate block.

    from steep.curate.pii.redact import redact_pii
    redact_pii("Mail jane@corp.com now.")                    # ('Mail <EMAIL> now.', Counter({'email': 1}))
    redactor = PiiRedactor(PiiConfig(style="pseudonym"))    # 'Mail alex.hart123@example.com now.'

Both styles are idempotent: placeholders are not PII, and pseudonyms come from ranges the pseudonymizer keeps
as they are (see `steep.curate.pii.pseudonym`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from steep.curate.block import Block, DropSink
from steep.curate.config import ALL_PII_TYPES, PiiConfig
from steep.curate.document import Document, Drop
from steep.curate.pii.custom import CustomRecognizer
from steep.curate.pii.detect import PiiSpan, find_pii
from steep.curate.pii.pseudonym import Pseudonymizer

PLACEHOLDERS: dict[str, str] = {t: f"<{t.upper()}>" for t in ALL_PII_TYPES}

Replacer = Callable[[PiiSpan], str]


class Engine(Protocol):
    """What finds PII spans and writes the replacements: `SteepEngine` or `PresidioEngine`."""

    def find(self, text: str) -> list[PiiSpan]: ...

    def redact(self, text: str, spans: Sequence[PiiSpan], replacement: Replacer) -> str: ...


def placeholder(span: PiiSpan) -> str:
    return PLACEHOLDERS.get(span.type) or f"<{span.type.upper()}>"


def apply_spans(text: str, spans: Sequence[PiiSpan], replacement: Replacer = placeholder) -> str:
    """`text` with each (non-overlapping, sorted) span replaced; one join, not one copy per span."""
    parts, last = [], 0
    for span in spans:
        parts += [text[last : span.start], replacement(span)]
        last = span.end
    parts.append(text[last:])
    return "".join(parts)


def redact_pii(text: str, types: Sequence[str] = ALL_PII_TYPES) -> tuple[str, Counter[str]]:
    """`text` with every PII span replaced by its placeholder, and the count per type."""
    spans = find_pii(text, types)
    return apply_spans(text, spans), Counter(span.type for span in spans)


class SteepEngine:
    def __init__(
        self,
        types: Sequence[str] = ALL_PII_TYPES,
        ner: Callable[[str], list[tuple[int, int]]] | None = None,
        custom: Sequence[CustomRecognizer] = (),
    ):
        self.types = tuple(types)
        self.ner = ner if "name" in self.types else None
        self.custom = tuple(custom)

    def find(self, text: str) -> list[PiiSpan]:
        extra = [("name", s, e) for s, e in self.ner(text)] if self.ner else ()
        return find_pii(text, self.types, extra, self.custom)

    __call__ = find

    def redact(self, text: str, spans: Sequence[PiiSpan], replacement: Replacer) -> str:
        return apply_spans(text, spans, replacement)


def build_engine(cfg: PiiConfig) -> Engine:
    """The configured engine for the configured types (with the operator's local NER model and custom types)."""
    custom = [CustomRecognizer(spec) for spec in cfg.custom]
    ner = None
    if cfg.ner_model:
        from steep.curate.pii.ner import NerNames

        ner = NerNames(cfg.ner_model)
    if cfg.engine == "presidio":
        from steep.curate.pii.presidio_engine import PresidioEngine

        return PresidioEngine(cfg.types, ner=ner, custom=custom)
    return SteepEngine(cfg.types, ner=ner, custom=custom)


class PiiRedactor(Block):
    """Block: redacts PII in place; the per-type counts go to `stats.counters` and `meta.pii_redacted`."""

    name = "pii"

    def __init__(self, cfg: PiiConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or PiiConfig()
        self.types = tuple(self.cfg.types)
        self.engine = build_engine(self.cfg)
        self.pseudonyms = Pseudonymizer(self.cfg.pseudonym_key)
        self.placeholders = {**PLACEHOLDERS, **{c.name: c.placeholder or f"<{c.name.upper()}>" for c in self.cfg.custom}}
        self.replacement: Replacer = self._pseudonym if self.cfg.style == "pseudonym" else self._placeholder

    def _placeholder(self, span: PiiSpan) -> str:  # methods, not lambdas: the block pickles into worker processes
        return self.placeholders[span.type]

    def _pseudonym(self, span: PiiSpan) -> str:
        if span.type not in PLACEHOLDERS:  # a custom type: no format to preserve, a keyed tag keeps it consistent
            return self.pseudonyms.tagged(self.placeholders[span.type], span.type, span.text)
        return self.pseudonyms.pseudonym(span.type, span.text)

    def redact_with_counts(self, text: str) -> tuple[str, Counter[str]]:
        spans = self.engine.find(text)
        if not spans:
            return text, Counter()
        return self.engine.redact(text, spans, self.replacement), Counter(span.type for span in spans)

    def redact(self, text: str) -> str:
        return self.redact_with_counts(text)[0]

    def apply(self, doc: Document) -> Document | Drop:
        redacted, counts = self.redact_with_counts(doc.text)
        if not counts:
            return doc
        self.stats.counters.update(counts)
        self.stats.counters["docs_redacted"] += 1
        return replace(doc, text=redacted, meta={**doc.meta, "pii_redacted": dict(sorted(counts.items()))})
