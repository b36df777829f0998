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

import calendar
import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator

from steep.curate.classifier import GateClassifierConfig
from steep.curate.lexicon import check_lexicon_file
from steep.curate.user_gates import UserGates
from steep.schema import Regex, StrictModel

PiiType = Literal["email", "phone", "card", "iban", "ssn", "ip", "account", "name", "secret", "url_credentials"]
ALL_PII_TYPES: tuple[PiiType, ...] = (
    "email", "phone", "card", "iban", "ssn", "ip", "account", "name", "secret", "url_credentials",
)  # fmt: skip


def _check_phrase(term: str) -> str:
    # An empty or whitespace-only term would match between any two non-word characters: refuse it.
    if not term.strip():
        raise ValueError("empty term: a blocked phrase needs at least one non-space character")
    return term.strip()


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
    # Misread words back to dictionary words (`tbe` -> `the`, `shaU` -> `shall`; `steep.curate.ocr_correct`).
    # Words already in the dictionary or common anywhere, names, codes, ALL-CAPS and camelCase are never touched.
    correct_words: bool = True
    # log10 units a correction must beat the word as written by (2.0: 100x likelier, confusion cost included).
    correct_margin: float = Field(default=2.0, ge=0.0)
    normalize_whitespace: bool = True
    examples_in_report: int = Field(default=3, ge=0)


Share = Annotated[float, Field(ge=0.0, le=1.0)]


class QualityConfig(StrictModel):
    """Gopher/C4 quality heuristics, applied after repair (repair can turn a noisy doc into a good one).

    `None` switches a filter off. Gopher's value is given where a default differs; what each default drops on
    the demo lake and why: `steep.curate.quality`. In YAML:
    `quality: {min_words: 20, min_stop_words: 2, max_ocr_garbage: 0.05, max_top_ngram_chars: {2: 0.2}}`.
    """

    enabled: bool = True
    min_words: int = Field(default=5, ge=0)  # Gopher 50: a support ticket or a spec line can be shorter
    max_words: int | None = Field(default=100_000, ge=1)
    # Share of alphabetic characters among non-space characters. 0.4 keeps number-heavy business text
    # (order tables, invoices: ~0.35-0.6) while dropping symbol soup, base64 and table dumps (~0.0-0.3).
    min_alpha_ratio: float = Field(default=0.4, ge=0.0, le=1.0)
    min_mean_word_length: float | None = Field(default=3.0, ge=0.0)
    max_mean_word_length: float | None = Field(default=10.0, ge=0.0)
    max_symbol_word_ratio: float | None = Field(default=0.1, ge=0.0)  # ('#' + ellipses) per word
    max_bullet_lines: Share | None = 0.9
    max_ellipsis_lines: Share | None = 0.3
    min_alpha_words: Share | None = None  # Gopher 0.8: order tables and ticket logs are ~0.6-0.8 words with a letter
    min_stop_words: int | None = Field(default=None, ge=0)  # Gopher 2; English only (skipped when meta.language!=en)
    max_duplicate_line_fraction: Share | None = 0.3
    max_duplicate_line_chars: Share | None = 0.2
    max_duplicate_paragraph_fraction: Share | None = 0.3
    max_duplicate_paragraph_chars: Share | None = 0.2
    # Gopher repetition: {n: max share of word characters} for the top n-gram and for repeated n-grams.
    max_top_ngram_chars: dict[Annotated[int, Field(ge=1, le=20)], Share] = Field(
        default_factory=lambda: {2: 0.20, 3: 0.30, 4: 0.30}  # Gopher {2: 0.20, 3: 0.18, 4: 0.16}
    )
    max_duplicate_ngram_chars: dict[Annotated[int, Field(ge=1, le=20)], Share] = Field(
        default_factory=lambda: {5: 0.25, 6: 0.24, 7: 0.23, 8: 0.22, 9: 0.21, 10: 0.20}  # Gopher: 0.10 lower each
    )
    # C4: keep only lines ending in terminal punctuation. Off: it cut 89% of OCR-damaged text in datatrove's
    # chain (hard-wrapped lines, lists, tables and headings have no end punctuation).
    c4_end_punctuation_lines: bool = False
    # Store `meta.ocr_garbage_ratio` (share of OCR-garbage tokens after repair, `steep.curate.ocr_quality`).
    ocr_score: bool = True
    # Drop a document whose garbage share is above this (`ocr_garbage`). Demo lake after repair: clean docs
    # 0.0, OCR-damaged docs 0.0-0.026; scans a cheap engine mangled score 0.1 and more. Real newspaper OCR
    # (ICDAR 2017, bench/curate/RESULTS.md) scores close to its character error rate: 0.01 at 1.5 %, 0.10 at 11 %.
    max_ocr_garbage: Share | None = None


def _terms_file(path: Path) -> Path:
    return check_lexicon_file(path, "terms")


def _patterns_file(path: Path) -> Path:
    return check_lexicon_file(path, "patterns")


# One entry per line, `#` comment lines; checked (exists, every regex compiles) at load time. See steep.curate.lexicon.
TermsFile = Annotated[Path, AfterValidator(_terms_file)]
PatternsFile = Annotated[Path, AfterValidator(_patterns_file)]


class LanguageConfig(StrictModel):
    """Offline language ID (py3langid, model in the wheel). Off by default; on, it sets `meta.language`.

    In YAML: `language: {enabled: true, keep: [en, de], min_confidence: 0.5}`.
    """

    enabled: bool = False
    keep: list[str] = Field(default_factory=lambda: ["en"])  # ISO 639-1 codes; empty keeps every language
    # Below this normalised probability the language is unknown: dropped as `language:uncertain`. The demo lake's
    # English documents score >= 0.9 except number-only tables and junk.
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    max_chars: int = Field(default=2000, ge=1)  # classify only the start: cost is linear in length


# Row keys that hold eval text in the usual shapes (plain text, prompt/answer pairs, chat, preference, dialogue).
EVAL_TEXT_FIELDS = ("text", "prompt", "question", "answer", "completion", "response", "chosen", "rejected")
EVAL_TEXT_FIELDS += ("messages", "user_turns")


class DecontamConfig(StrictModel):
    """Drop or flag training documents sharing word n-grams with eval splits. Off while `eval_files` is empty.

    In YAML: `decontam: {eval_files: [data/sft_heldout.jsonl], ngram: 13, min_matches: 1, action: drop}`.

    Why `ignore_common` (n-grams in that many training documents are boilerplate, not leaks), with the demo
    numbers: `steep.curate.decontam`.
    """

    eval_files: list[str] = Field(default_factory=list)
    ngram: int = Field(default=13, ge=3, le=64)
    min_matches: int = Field(default=1, ge=1)  # distinct shared n-grams needed
    action: Literal["drop", "flag"] = "drop"
    ignore_common: int | None = Field(default=3, ge=2)
    # Row keys holding eval text: strings, lists of strings, or messages (`steep.curate.decontam`).
    fields: list[str] = Field(default_factory=lambda: list(EVAL_TEXT_FIELDS), min_length=1)


class ComplianceConfig(StrictModel):
    """Documents mentioning a blocked term (case-insensitive, whole phrase) or matching a pattern are dropped.

    compliance: {terms_file: lexicons/codenames.txt, classifier: {train: lexicons/restricted.jsonl}}
    """

    terms: list[Phrase] = Field(default_factory=list)
    patterns: list[Regex] = Field(default_factory=list)  # Python `re`; use `(?i)` for case-insensitive
    terms_file: TermsFile | None = None  # added to `terms`
    patterns_file: PatternsFile | None = None  # added to `patterns`
    classifier: GateClassifierConfig | None = None  # trained at stage start; see steep.curate.classifier


def _cutoff(value: Any) -> date | None:
    """`cutoff:` as the last day it can mean: 1930 (a YAML int or "1930") is 1930-12-31, "2024-06" is 2024-06-30, a
    date or datetime is its day. Anything else (0, a negative or 5-digit year, text) is refused here, so the error
    names `curate.time.cutoff` instead of pydantic's datetime message."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else None
    hint = "give a year (1930 = the end of 1930), a month (2024-06 = its last day) or a day (2024-06-30)"
    if text is None or not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?|\d{4}-\d{2}-\d{2}[T ].*", text):
        raise ValueError(f"{value!r} is not a cutoff: {hint}")
    year = int(text[:4])
    if not MIN_CUTOFF_YEAR <= year <= MAX_CUTOFF_YEAR:
        raise ValueError(f"year {year} is outside {MIN_CUTOFF_YEAR}-{MAX_CUTOFF_YEAR}: {hint}")
    if len(text) == 4:
        return date(year, 12, 31)
    if len(text) == 7:
        month = int(text[5:7])
        if not 1 <= month <= 12:
            raise ValueError(f"{value!r} has no month {month}: {hint}")
        return date(year, month, calendar.monthrange(year, month)[1])
    try:
        return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a date ({error}): {hint}") from None


# A year-shaped cutoff before 1000 is a typo (`cutoff: 0` once became 1970-01-01, the epoch, without a word).
MIN_CUTOFF_YEAR, MAX_CUTOFF_YEAR = 1000, 9999
Cutoff = Annotated[date | None, BeforeValidator(_cutoff)]


def _date_field(path: str) -> str:
    parts = path.split(".")
    if not path.strip() or any(not part.strip() for part in parts):
        raise ValueError(f"{path!r} is not a field path: give a key of meta (`date`) or a dotted path (`published.date`)")
    return path


class MineConfig(StrictModel):
    """Anachronism n-grams mined from the lake itself: word 1-2-grams found in at least `min_docs` documents dated
    after the cutoff and in none dated before it (needs `min_dated` dated documents on each side). An undated
    document naming `min_hits` distinct ones is dropped as `time:mined:<n-gram>`."""

    min_docs: int = Field(default=5, ge=2)
    min_dated: int = Field(default=20, ge=1)  # dated documents needed on each side of the cutoff to mine at all
    min_hits: int = Field(default=2, ge=1)
    max_terms: int = Field(default=2000, ge=1)
    max_docs: int = Field(default=50_000, ge=1)  # dated documents read per side (the first ones, in input order)


class LakeClassifierConfig(StrictModel):
    """A pre/post classifier trained at stage start on the lake's DATED documents (label: date > cutoff), applied
    to the undated ones (`time:classifier:lake`). Same model as `steep.curate.classifier`."""

    threshold: float = Field(default=0.9, gt=0.0, le=1.0)  # high: a classifier alone is weaker evidence than a year
    min_dated: int = Field(default=50, ge=2)  # dated documents needed on each side; fewer: not trained (warned)
    max_docs: int = Field(default=20_000, ge=2)


class TimeInferConfig(StrictModel):
    """How `undated: infer` reads an undated document's text, cheapest evidence first (`steep.curate.time_text`)."""

    years: bool = True  # explicit dates and years in a year-like context after the cutoff: `time:text:date|year`
    bare_years: int | None = Field(default=2, ge=1)  # distinct bare post-cutoff years that count; None: ignore bare
    builtin_terms: bool = True  # terms first attested after the cutoff (`steep.curate.time_terms`): `time:anachronism:<term>`
    mine: MineConfig | None = MineConfig()
    classifier: LakeClassifierConfig | None = None


class TimeGateConfig(StrictModel):
    """Keep only what was knowable at `cutoff`: later-dated docs and docs naming post-cutoff terms are dropped.

        time: {cutoff: 1930, date_field: published.date, undated: infer, terms: [television]}

    `cutoff`: a year (1930 = the end of 1930), a month (2024-06 = its last day) or a day. `undated` decides what
    happens to a document without a usable date: `keep` it, `drop` it (`time:undated`), or `infer` from its text
    (default: dates and years after the cutoff, anachronism terms, n-grams mined from the lake's dated documents,
    optionally a classifier; `infer`). Undated documents are counted on the console and in report.md either way.
    """

    cutoff: Cutoff = None
    terms: list[Phrase] = Field(default_factory=list)
    # Key in `meta` holding an ISO date/datetime, "YYYY-MM", "YYYY" or an int year; a dotted path reads nested
    # meta (`published.date`; a leading `meta.` is allowed). A key with a literal dot is found first.
    date_field: Annotated[str, AfterValidator(_date_field)] = "date"
    undated: Literal["keep", "drop", "infer"] = "infer"
    infer: TimeInferConfig = TimeInferConfig()
    patterns: list[Regex] = Field(default_factory=list)  # `time:/<pattern>/`, e.g. '\\b(?:Q[34] 2024|FY ?2025)\\b'
    terms_file: TermsFile | None = None
    patterns_file: PatternsFile | None = None
    classifier: GateClassifierConfig | None = None


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
    method: Literal["exact", "minhash"] = "minhash"
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
    # What near-dup compares for a document PII redaction changed. original: the text as written, each PII value an
    # opaque token (`steep.curate.dedup_view`): letters to different customers stay different. redacted: the
    # output text, where they become near copies once names and numbers are placeholders. Exact dedup always
    # compares the output text.
    near_text: Literal["original", "redacted"] = "original"

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


class CustomPiiValidator(StrictModel):
    """Checks a custom type's candidate beyond its regex; every check given must pass."""

    # The value's digits pass this checksum: luhn (cards, many member ids), mod97 (ISO 7064, as in IBANs).
    checksum: Literal["luhn", "mod97"] | None = None
    digits: tuple[int, int] | None = None  # [min, max] count of digits in the value
    length: tuple[int, int] | None = None  # [min, max] length of the value in characters

    @field_validator("digits", "length")
    @classmethod
    def _range(cls, bounds: tuple[int, int] | None) -> tuple[int, int] | None:
        if bounds is not None and not 0 <= bounds[0] <= bounds[1]:
            raise ValueError(f"[min, max] needs 0 <= min <= max, got {list(bounds)}")
        return bounds


class CustomPiiType(StrictModel):
    """An operator-declared PII type (a company's own identifier), redacted and scored like the built-in ones.

        pii: {custom: [{name: mrn, pattern: 'MRN-\\d{7}', context: [medical record, mrn, patient],
                        validator: {digits: [7, 7]}, placeholder: '<MRN>'}]}
    """

    name: str  # lowercase identifier: the type's name in counts, metadata and labels
    pattern: Regex  # what a value looks like; the whole match is redacted (or group `value` if the pattern names it)
    # Words or phrases (case-insensitive) of which one must stand within `context_window` characters before a hit;
    # empty: every pattern match is redacted.
    context: list[Phrase] = []
    context_window: int = Field(default=40, ge=1, le=500)
    ignore_case: bool = False  # compile `pattern` with re.IGNORECASE
    validator: CustomPiiValidator | None = None
    placeholder: str | None = None  # None: `<NAME>` in upper case

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        import re

        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
            raise ValueError(f"{name!r}: a custom PII type name is a lowercase identifier ([a-z][a-z0-9_]*, <= 32 chars)")
        if name in ALL_PII_TYPES or name == "name_account":
            raise ValueError(f"{name!r} is a built-in PII type; choose another name (built-ins go under pii.types)")
        return name

    @field_validator("pattern")
    @classmethod
    def _not_empty_match(cls, pattern: str) -> str:
        import re

        if re.compile(pattern).fullmatch(""):
            raise ValueError(f"pattern {pattern!r} matches the empty string: it would fire at every position")
        return pattern

    @field_validator("placeholder")
    @classmethod
    def _placeholder(cls, placeholder: str | None) -> str | None:
        if placeholder is not None and not placeholder.strip():
            raise ValueError("empty placeholder: the redacted text needs a visible marker such as '<MRN>'")
        return placeholder


class PiiConfig(StrictModel):
    """Regex + checksum PII redaction (see `steep.curate.pii`). PII documents are redacted, never dropped.

        pii: {engine: steep, style: pseudonym, pseudonym_key: ${STEEP_PII_KEY}, types: [email, phone, card]}
    """

    enabled: bool = True
    # steep: our recognizers. presidio: the union of ours and Presidio's pattern recognizers (no NLP model; its
    # hits pass our id-word and decoy checks), replaced through Presidio's anonymizer (`pip install 'steep[presidio]'`).
    engine: Literal["steep", "presidio"] = "steep"
    # placeholder: `<EMAIL>`, `<PHONE>`, ... pseudonym: consistent, format-preserving fake values from
    # reserved ranges (emails @example.com, 555-01xx phones, test-BIN cards), keyed by HMAC(pseudonym_key).
    style: Literal["placeholder", "pseudonym"] = "placeholder"
    # None: a fixed built-in key, so runs are reproducible (and pseudonyms are linkable across runs: set your
    # own secret key if they must not be).
    pseudonym_key: str | None = None
    types: list[PiiType] = Field(default_factory=lambda: list(ALL_PII_TYPES))
    # Also redact the text of dropped documents in excluded.jsonl and the report's examples, so no run
    # artifact carries raw PII.
    redact_excluded: bool = True
    # A LOCAL Hugging Face token-classification model directory: its person entities become `name` spans
    # (needs transformers + torch; never downloaded). None: names only beside account context.
    ner_model: str | None = None
    # Your own PII types (always detected when declared, whatever `types` says); see `CustomPiiType`.
    custom: list[CustomPiiType] = []

    @field_validator("custom")
    @classmethod
    def _unique_custom(cls, custom: list[CustomPiiType]) -> list[CustomPiiType]:
        names = [c.name for c in custom]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate custom PII type names: {', '.join(dupes)}")
        return custom

    @field_validator("ner_model")
    @classmethod
    def _local_model(cls, path: str | None) -> str | None:
        if path is not None and not (Path(path) / "config.json").is_file():
            raise ValueError(f"{path!r} is not a local model directory (no config.json); steep never downloads one")
        return path

    @field_validator("engine")
    @classmethod
    def _engine_installed(cls, engine: str) -> str:
        if engine == "presidio":
            import importlib.util

            missing = [m for m in ("presidio_analyzer", "presidio_anonymizer") if importlib.util.find_spec(m) is None]
            if missing:
                raise ValueError(f"engine presidio needs {', '.join(missing)}: pip install 'steep[presidio]'")
        return engine

    @field_validator("types")
    @classmethod
    def _unique(cls, types: list[str]) -> list[str]:
        dupes = sorted({t for t in types if types.count(t) > 1})
        if dupes:
            raise ValueError(f"duplicate PII types: {', '.join(dupes)}")
        return types


class ReadConfig(StrictModel):
    """How input files become documents (JSONL, Parquet, text/Markdown, HTML, PDF); see `steep.curate.readers`.

        read: {max_doc_bytes: 10000000, ocr: auto, ocr_dpi: 300, ocr_lang: eng}
    """

    text_key: str = "text"  # JSONL key / Parquet column holding the text
    id_key: str = "id"
    # A document (a JSONL line, a Parquet cell, a text/HTML file, a PDF's extracted text) larger than this is
    # dropped as `too_large` without being read whole. 10 MB of UTF-8 is ~1.5M words, ~2.5M tokens: far past any
    # context window and past what a book needs, while logs, dumps and base64 blobs land here.
    max_doc_bytes: int = Field(default=10_000_000, ge=1)
    # A text/HTML file that is not valid UTF-8 is kept (bad bytes -> U+FFFD, location in the report) while at
    # most this share of its bytes is undecodable; past it the file is treated as binary or a legacy encoding
    # and dropped as `bad_input` (convert it with iconv first).
    max_undecodable_ratio: float = Field(default=0.01, ge=0.0, le=1.0)
    # HTML: a text block (paragraph, list item, row) whose characters are at least this share link text is
    # navigation, not content.
    html_max_link_density: float = Field(default=0.5, gt=0.0, le=1.0)
    parquet_batch_rows: int = Field(default=1024, ge=1)  # rows held in memory at once per Parquet file
    # PDF pages without a text layer: `auto` runs Tesseract when the binary is on PATH, `off` never does.
    ocr: Literal["auto", "off"] = "auto"
    ocr_dpi: int = Field(default=300, ge=72, le=1200)  # Tesseract is trained on ~300 dpi scans
    ocr_lang: str = Field(default="eng", pattern=r"^[A-Za-z_]+(\+[A-Za-z_]+)*$")  # tesseract -l, e.g. eng+deu
    ocr_timeout_s: float = Field(default=120.0, gt=0.0)  # per page


class ExecutorConfig(StrictModel):
    """Where the per-document blocks run: sharded, with a completion marker per shard (see `steep.curate.executor`
    and `steep.curate.shards`).

        executor: {kind: local, workers: 4}                      # a process pool on this machine
        executor: {kind: ray, address: "ray://head:10001", workers: 64}   # Ray tasks; out_dir on shared storage
    """

    kind: Literal["local", "ray"] = "local"
    # Shards processed at once. local: 1 runs in this process (no pool, no pickling); N > 1 a pool of N processes.
    # ray: at most N tasks in flight.
    workers: int = Field(default=1, ge=1)
    # ray only: None joins the instance this process already started, or starts a local one; "auto" or
    # "ray://host:10001" joins a cluster.
    address: str | None = None
    # A plain JSONL file larger than this is split into byte ranges aligned to line starts. 64 MB is ~16k documents
    # of 4 KB, ~1-2 minutes of the default chain per core: small enough that a killed run loses little, large
    # enough that per-shard overhead (a marker, three small files, a process hop) stays under 1%.
    shard_mb: float = Field(default=64.0, gt=0.0)
    # Keep `shards/` after a successful run (debugging); by default it is removed once the final outputs exist.
    keep_shards: bool = False

    @field_validator("address")
    @classmethod
    def _address_needs_ray(cls, address: str | None, info: ValidationInfo) -> str | None:
        if address is not None and info.data.get("kind") == "local":
            raise ValueError("address is only used by kind: ray")
        return address


# The blocks whose drops are documents nobody may train on (NDA material, post-cutoff facts, the operator's own
# gates): their exclusion rows keep where the document was, why it went and its hash, not its text.
WITHHELD_BLOCKS = ("compliance", "time", "gates")


class ExclusionsConfig(StrictModel):
    """What excluded.jsonl keeps of a document a gate dropped (`WITHHELD_BLOCKS`).

        exclusions: {keep_text: true}     # audit a gate by reading what it dropped (the run then holds that text)

    Default: `id`, `source` (file:line), `reason`, `detail`, `meta`, `text_sha256` and `text_chars`, with `text`
    null: a restricted memo copied into the run directory is a leak of the memo (`eval.leaks` finds it there).
    Drops by the other blocks (quality, dedup, ...) keep their text, PII-redacted (`pii.redact_excluded`)."""

    keep_text: bool = False


class CurateConfig(StrictModel):
    """The curate stage: read -> clean -> gates (compliance, time, user) -> language -> quality -> decontam -> pii
    -> dedup -> write."""

    # Files (.jsonl/.json[.gz], .parquet, .txt/.md, .html/.htm, .pdf), directories (walked recursively) or glob
    # patterns. Existence is checked by `run_curate` before any work starts.
    inputs: list[str] = Field(min_length=1)
    clean: CleanConfig = CleanConfig()
    language: LanguageConfig = LanguageConfig()
    quality: QualityConfig = QualityConfig()
    compliance: ComplianceConfig = ComplianceConfig()
    time: TimeGateConfig = TimeGateConfig()
    gates: UserGates = Field(default_factory=list)  # user gates, after compliance and time: steep.curate.user_gates
    decontam: DecontamConfig = DecontamConfig()  # after the gates, before pii: eval text is not redacted
    dedup: DedupConfig = DedupConfig()
    pii: PiiConfig = PiiConfig()
    read: ReadConfig = ReadConfig()
    exclusions: ExclusionsConfig = ExclusionsConfig()
    executor: ExecutorConfig = ExecutorConfig()
    # Warn (console and report.md, naming the block) when one block removes more than this share of the documents
    # read: a block removing most of a lake is more often misconfigured than right (near-dup after redaction once
    # removed 72% of one, and cpt then trained on a tenth of the corpus). None: never warn.
    warn_drop_share: Share | None = 0.5
