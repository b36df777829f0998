"""Typed configuration of the curate stage: one small model per block, composed into `CurateConfig`.

Every field has a default, so the smallest valid config is `CurateConfig(inputs=["data/docs.jsonl"])`.
In the pipeline YAML it sits under `curate:`:

    curate:
      inputs: [data/raw/*.jsonl]
      quality: {min_words: 20}
      compliance: {terms: [project falcon], patterns: ['(?i)\\binternal[- ]only\\b']}
      time: {cutoff: 2024-06-30, terms: [falcon 2]}

A bad value fails at load time with its YAML path, e.g. `compliance.patterns.1: invalid regex '(a': ...`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from steep.schema import StrictModel

PiiType = Literal["email", "phone", "card", "iban", "ssn", "ip", "account"]
ALL_PII_TYPES: tuple[PiiType, ...] = ("email", "phone", "card", "iban", "ssn", "ip", "account")


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as err:
        raise ValueError(f"invalid regex {pattern!r}: {err}") from None
    return pattern


def _check_phrase(term: str) -> str:
    # An empty or whitespace-only term would match between any two non-word characters: refuse it.
    if not term.strip():
        raise ValueError("empty term: a blocked phrase needs at least one non-space character")
    return term.strip()


Regex = Annotated[str, AfterValidator(_check_regex)]
Phrase = Annotated[str, AfterValidator(_check_phrase)]


class CleanConfig(StrictModel):
    """Text repair: ftfy first, then our OCR passes. Each pass can be switched off on its own."""

    enabled: bool = True
    # ftfy with conservative settings: fix mojibake / bad encodings, keep curly quotes, full-width
    # characters and Unicode normalisation form (NFC) as the author wrote them.
    fix_unicode: bool = True
    # ftfy's `unescape_html`: "auto" decodes `&amp;` only in text that has no `<` (i.e. is not HTML/code).
    unescape_html: bool | Literal["auto"] = "auto"
    ligatures: bool = True  # ﬁ ﬂ ﬀ ﬃ ﬄ ﬅ ﬆ and long s (ſ) -> plain letters
    headers_footers: bool = True  # page numbers and running headers/footers at page boundaries
    header_min_repeats: int = Field(default=2, ge=2)
    dehyphenate: bool = True  # `infor-\nmation` -> `information`
    join_lines: bool = True  # hard-wrapped lines -> paragraphs
    normalize_whitespace: bool = True
    examples_in_report: int = Field(default=3, ge=0)


class QualityConfig(StrictModel):
    """Minimal quality filters, applied after repair (repair can turn a noisy doc into a good one)."""

    enabled: bool = True
    min_words: int = Field(default=5, ge=0)
    # Share of alphabetic characters among non-space characters. 0.4 keeps number-heavy business text
    # (order tables, invoices: ~0.35-0.6) while dropping symbol soup, base64 and table dumps (~0.0-0.3).
    min_alpha_ratio: float = Field(default=0.4, ge=0.0, le=1.0)


class ComplianceConfig(StrictModel):
    """Documents mentioning a blocked term (case-insensitive, whole phrase) or matching a pattern are dropped."""

    terms: list[Phrase] = Field(default_factory=list)
    patterns: list[Regex] = Field(default_factory=list)  # Python `re`; use `(?i)` for case-insensitive


class TimeGateConfig(StrictModel):
    """Keep only what was knowable at `cutoff`: later-dated docs and docs naming post-cutoff terms are dropped."""

    cutoff: date | None = None
    terms: list[Phrase] = Field(default_factory=list)
    date_field: str = "date"  # key in `meta` holding an ISO date/datetime, "YYYY-MM" or "YYYY"
    # What to do with a document whose date is missing or unparseable when a cutoff is set.
    undated: Literal["keep", "drop"] = "keep"


class DedupConfig(StrictModel):
    """Exact dedup on a normalised text hash; `method: minhash` then also drops near duplicates.

    minhash: exact dedup first; then a document whose word `shingle_size`-gram set has Jaccard >= `threshold`
    with an earlier document is dropped (`duplicate:near`, detail = the kept document of that one's cluster).
    MinHash LSH (`num_perm` hashes in `bands` bands) only proposes candidates; every candidate is checked on the
    exact shingle sets. The minhash fields are ignored by `method: exact`. How the defaults were chosen:
    `steep.curate.minhash`.

        dedup: {method: minhash, shingle_size: 2, threshold: 0.7, num_perm: 128, bands: 32}
    """

    enabled: bool = True
    method: Literal["exact", "minhash"] = "exact"
    # Word n-grams of the normalised text. A copy with 5% of its words changed at scattered positions keeps
    # Jaccard 0.82 on 2-grams, 0.75 on 3-grams, 0.63 on 5-grams; documents that share whole sentences (a template,
    # boilerplate) score about the same on all three, so short shingles separate the two best.
    shingle_size: int = Field(default=2, ge=1, le=16)
    # Exact Jaccard on the shingle sets at or above which a candidate is a near duplicate. Checked per pair, so
    # it sets precision. Demo lake (scale 1-5), 2-grams: labeled near copies >= 0.79, unrelated pairs <= 0.62.
    # On 2-grams 0.7 means up to ~9% of words changed at scattered positions ((1-p)^2 = s, s/(2-s) = 0.7).
    threshold: float = Field(default=0.7, gt=0.0, le=1.0)
    num_perm: int = Field(default=128, ge=8, le=1024)
    # LSH bands; rows per band = num_perm / bands. 32 x 4 puts the S-curve midpoint at (1/32)^(1/4) = 0.42.
    bands: int = Field(default=32, ge=1)

    @field_validator("bands")
    @classmethod
    def _bands_fit(cls, bands: int, info: ValidationInfo) -> int:
        num_perm, threshold = info.data.get("num_perm"), info.data.get("threshold")
        if num_perm is None or threshold is None:  # already reported as invalid themselves
            return bands
        if bands > num_perm or num_perm % bands:
            divisors = [d for d in range(2, num_perm) if num_perm % d == 0]
            raise ValueError(f"bands={bands} must divide num_perm={num_perm} (rows per band = num_perm / bands); "
                             f"choose one of {divisors}")
        rows = num_perm // bands
        # Chance that a pair exactly at the threshold shares a band and so gets checked at all: below 1/2 the
        # LSH would silently miss most near duplicates the threshold asks for.
        found = 1.0 - (1.0 - threshold**rows) ** bands
        if found < 0.5:
            raise ValueError(f"bands={bands} x {rows} rows finds a pair at Jaccard {threshold} (the threshold) with "
                             f"probability {found:.2f}; use more bands (fewer rows per band) or a higher threshold")
        return bands


class PiiConfig(StrictModel):
    """Regex + checksum PII redaction. PII documents are redacted, never dropped."""

    enabled: bool = True
    style: Literal["placeholder"] = "placeholder"  # `<EMAIL>`, `<PHONE>`, ...
    types: list[PiiType] = Field(default_factory=lambda: list(ALL_PII_TYPES))
    # Also redact the text of dropped documents in excluded.jsonl and the report's examples, so no run
    # artifact carries raw PII.
    redact_excluded: bool = True

    @field_validator("types")
    @classmethod
    def _unique(cls, types: list[str]) -> list[str]:
        dupes = sorted({t for t in types if types.count(t) > 1})
        if dupes:
            raise ValueError(f"duplicate PII types: {', '.join(dupes)}")
        return types


class CurateConfig(StrictModel):
    """The curate stage: read -> clean -> quality -> gates -> pii -> dedup -> write."""

    # JSONL files (optionally .gz), directories (all *.jsonl / *.jsonl.gz inside) or glob patterns.
    # Existence is checked by `run_curate` before any work starts.
    inputs: list[str] = Field(min_length=1)
    clean: CleanConfig = CleanConfig()
    quality: QualityConfig = QualityConfig()
    compliance: ComplianceConfig = ComplianceConfig()
    time: TimeGateConfig = TimeGateConfig()
    dedup: DedupConfig = DedupConfig()
    pii: PiiConfig = PiiConfig()
