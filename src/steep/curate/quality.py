"""Quality filters, run after repair: the Gopher / C4 heuristics, each with its own threshold and drop reason.

    QualityFilter(QualityConfig(min_words=5)).apply(Document("1", "ok"))  # Drop(reason='too_short', ...)

Every threshold is a config field; `None` switches that filter off. Reasons, in the order they are checked:

| reason | drops a document when | field: Gopher's value |
| --- | --- | --- |
| `empty` | nothing but whitespace (also after the C4 line filter) | always |
| `too_short`, `too_long` | whitespace-separated word count out of range | `min_words`: 50, `max_words`: 100,000 |
| `symbol_ratio` | letters are < `min_alpha_ratio` of non-space characters | `min_alpha_ratio` (steep's) |
| `word_length` | mean word length out of range | `min_mean_word_length`: 3, `max_mean_word_length`: 10 |
| `symbol_word_ratio` | (`#` + `...` / `…`) per word above | `max_symbol_word_ratio`: 0.1 |
| `bullet_lines` | share of lines starting with a bullet above | `max_bullet_lines`: 0.9 |
| `ellipsis_lines` | share of lines ending with an ellipsis above | `max_ellipsis_lines`: 0.3 |
| `alpha_words` | share of words with a letter below | `min_alpha_words`: 0.8 |
| `stop_words` | fewer of the, be, to, of, and, that, have, with than | `min_stop_words`: 2 |
| `duplicate_lines` | repeated lines: share of lines / chars above | `max_duplicate_line_fraction`: .3, `_chars`: .2 |
| `duplicate_paragraphs` | the same for paragraphs | `max_duplicate_paragraph_fraction`: .3, `_chars`: .2 |
| `top_ngram:<n>` | the top word n-gram holds more of the word chars | `max_top_ngram_chars`: {2: .2, 3: .18, 4: .16} |
| `duplicate_ngrams:<n>` | repeated n-grams hold more of word chars | `max_duplicate_ngram_chars`: {5: .15..10: .1} |
| `ocr_garbage` | `meta.ocr_garbage_ratio` (`steep.curate.ocr_quality`) above | `max_ocr_garbage`: off (not Gopher) |

Defaults differ from Gopher's where Gopher would cut good business text: `min_words` 5 (not 50), the top n-gram
limits {2: 0.20, 3: 0.30, 4: 0.30} and repeated n-gram limits 0.25..0.20 (Gopher + 0.10) because templated logs
repeat phrases (Gopher's values drop 5 of 393 good demo docs, 20 of 1,965 at --scale 5), and `min_alpha_words`
and `min_stop_words` are off (no demo doc fails them, but the margin is thin for number-heavy tables and the stop
words would drop every non-English document unless language ID runs). Gopher tuned its values on web pages;
business text is short, number-heavy and templated. Each default keeps every labeled-good document of the demo
lake (PII-dense, number-heavy, OCR-repaired ones included).
The C4 line filter (`c4_end_punctuation_lines`: drop lines that do not end in . ! ? or a quote) is off:
it removes list items, table rows, headings and every hard-wrapped line of a scan.

Speed: a document's words are split ONCE with one compiled regex (`_WORD`), lowercased once, and every filter
reads the shared `TextStats`; lines and paragraphs are split only if a filter that needs them is on.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from functools import cached_property

from steep.curate.block import Block, DropSink
from steep.curate.config import QualityConfig
from steep.curate.document import Document, Drop
from steep.curate.ocr_quality import ocr_garbage_ratio

# A word: letters/digits joined by inner apostrophes, hyphens, dots, commas or slashes, so `don't`, `2021-04-08`,
# `£2,500` -> `2,500` and `e.g` stay one word. Punctuation and symbols between words are not words.
_WORD = re.compile(r"\w+(?:['’.,/-]\w+)*")
_BULLET = re.compile(r"^\s*(?:[-*+•▪‣◦·●○■□➢➤→]|\d{1,3}[.)])\s")
_ELLIPSIS_END = re.compile(r"(?:\.\.\.|…)\s*$")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_C4_END = re.compile(r"""[.!?]["'”’)]?\s*$""")
STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})


class TextStats:
    """What the filters measure on one document, each computed at most once and only when asked for."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def words(self) -> list[str]:
        return _WORD.findall(self.text)

    @cached_property
    def lower_words(self) -> list[str]:
        return [w.lower() for w in self.words]

    @cached_property
    def word_chars(self) -> int:
        return sum(map(len, self.words))

    @cached_property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]

    @cached_property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in _PARAGRAPH_BREAK.split(self.text) if p.strip()]


def alpha_ratio(text: str) -> float:
    """Share of alphabetic characters among non-whitespace characters (0.0 for an empty text)."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 0.0
    return sum(c.isalpha() for c in visible) / len(visible)


def duplicate_fractions(pieces: list[str]) -> tuple[float, float]:
    """(share of pieces that repeat an earlier one, share of characters in those repeats)."""
    if not pieces:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_pieces = dup_chars = 0
    for piece in pieces:
        if piece in seen:
            dup_pieces += 1
            dup_chars += len(piece)
        else:
            seen.add(piece)
    return dup_pieces / len(pieces), dup_chars / max(1, sum(map(len, pieces)))


def ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    """All word n-grams, built by `zip` in C (no Python loop per position)."""
    return list(zip(*(words[i:] for i in range(n))))


def top_ngram_char_fraction(words: list[str], n: int, word_chars: int) -> float:
    """Characters in all occurrences of the most frequent word n-gram, over all word characters (Gopher)."""
    if len(words) < n or not word_chars:
        return 0.0
    gram, count = Counter(ngrams(words, n)).most_common(1)[0]
    if count < 2:
        return 0.0
    return sum(map(len, gram)) * count / word_chars


def duplicate_ngram_char_fraction(words: list[str], n: int, word_chars: int) -> float:
    """Characters in word n-grams that repeat an earlier n-gram, over all word characters (Gopher).

    A repeat is counted once and the scan jumps past it, so overlapping repeats (`a a a a ...`) are not counted
    twice and the fraction stays <= 1. Most documents repeat no n-gram at all: one C-level set() answers that
    before the Python scan.
    """
    if len(words) < 2 * n or not word_chars:
        return 0.0
    grams = ngrams(words, n)
    if len(set(grams)) == len(grams):
        return 0.0
    ends = [0]  # ends[i] = characters in words[:i], so a gram's characters are ends[i + n] - ends[i]
    for length in map(len, words):
        ends.append(ends[-1] + length)
    seen: set[tuple[str, ...]] = set()
    duplicated = i = 0
    while i < len(grams):
        gram = grams[i]
        if gram in seen:
            duplicated += ends[i + n] - ends[i]
            i += n
        else:
            seen.add(gram)
            i += 1
    return duplicated / word_chars


def c4_keep_punctuated_lines(text: str) -> str:
    """C4's line filter: keep only lines that end in terminal punctuation (optionally followed by a quote)."""
    return "\n".join(line for line in text.splitlines() if _C4_END.search(line))


class QualityFilter(Block):
    """Drops documents that fail a heuristic; sets `meta.ocr_garbage_ratio` on every document it keeps."""

    name = "quality"

    def __init__(self, cfg: QualityConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or QualityConfig()

    def apply(self, doc: Document) -> Document | Drop:
        cfg = self.cfg
        if cfg.c4_end_punctuation_lines:
            kept = c4_keep_punctuated_lines(doc.text)
            if kept != doc.text:
                self.stats.counters["c4_lines_removed"] += doc.text.count("\n") - kept.count("\n")
                doc = replace(doc, text=kept)
        if not doc.text.strip():
            return Drop("empty")
        stats = TextStats(doc.text)
        drop = self.check(stats, doc.meta.get("language"))
        if drop is not None:
            return drop
        if cfg.ocr_score or cfg.max_ocr_garbage is not None:
            garbage = ocr_garbage_ratio(doc.text)
            if cfg.max_ocr_garbage is not None and garbage > cfg.max_ocr_garbage:
                return Drop("ocr_garbage", f"garbage token share {garbage:.3f} > {cfg.max_ocr_garbage}")
            if cfg.ocr_score:
                doc = replace(doc, meta={**doc.meta, "ocr_garbage_ratio": round(garbage, 4)})
        return doc

    def check(self, stats: TextStats, language: str | None = None) -> Drop | None:
        """The first failed heuristic as a `Drop`, or None. `language` (ISO code) skips the English stop words."""
        cfg = self.cfg
        # Length counts whitespace-separated pieces (as Gopher does, and as this filter always has); the ratios
        # below count `_WORD` words, which leave out pure punctuation and symbols.
        n_pieces = len(stats.text.split())
        if n_pieces < cfg.min_words:
            return Drop("too_short", f"{n_pieces} words < {cfg.min_words}")
        if cfg.max_words is not None and n_pieces > cfg.max_words:
            return Drop("too_long", f"{n_pieces} words > {cfg.max_words}")
        n_words = len(stats.words)
        if cfg.min_alpha_ratio:
            ratio = alpha_ratio(stats.text)
            if ratio < cfg.min_alpha_ratio:
                return Drop("symbol_ratio", f"alphabetic share {ratio:.2f} < {cfg.min_alpha_ratio}")
        if not n_words:  # min_words: 0 let an all-symbol text through; the ratios below need words
            return None
        if cfg.min_mean_word_length is not None or cfg.max_mean_word_length is not None:
            mean = stats.word_chars / n_words
            if cfg.min_mean_word_length is not None and mean < cfg.min_mean_word_length:
                return Drop("word_length", f"mean word length {mean:.2f} < {cfg.min_mean_word_length}")
            if cfg.max_mean_word_length is not None and mean > cfg.max_mean_word_length:
                return Drop("word_length", f"mean word length {mean:.2f} > {cfg.max_mean_word_length}")
        if cfg.max_symbol_word_ratio is not None:
            symbols = stats.text.count("#") + stats.text.count("...") + stats.text.count("…")
            if symbols / n_words > cfg.max_symbol_word_ratio:
                return Drop(
                    "symbol_word_ratio", f"{symbols} '#'/ellipses per {n_words} words > {cfg.max_symbol_word_ratio}"
                )
        if cfg.max_bullet_lines is not None:
            share = _share(stats.lines, lambda line: bool(_BULLET.match(line)))
            if share > cfg.max_bullet_lines:
                return Drop("bullet_lines", f"{share:.2f} of lines start with a bullet > {cfg.max_bullet_lines}")
        if cfg.max_ellipsis_lines is not None:
            share = _share(stats.lines, lambda line: bool(_ELLIPSIS_END.search(line)))
            if share > cfg.max_ellipsis_lines:
                return Drop("ellipsis_lines", f"{share:.2f} of lines end with an ellipsis > {cfg.max_ellipsis_lines}")
        if cfg.min_alpha_words is not None:
            share = sum(any(c.isalpha() for c in w) for w in stats.words) / n_words
            if share < cfg.min_alpha_words:
                return Drop("alpha_words", f"{share:.2f} of words have a letter < {cfg.min_alpha_words}")
        if cfg.min_stop_words is not None and language in (None, "en"):
            found = sum(w in STOP_WORDS for w in stats.lower_words)
            if found < cfg.min_stop_words:
                return Drop("stop_words", f"{found} English stop words < {cfg.min_stop_words}")
        return self._check_repetition(stats)

    def _check_repetition(self, stats: TextStats) -> Drop | None:
        cfg = self.cfg
        for unit, pieces, max_share, max_chars in (
            ("lines", "lines", cfg.max_duplicate_line_fraction, cfg.max_duplicate_line_chars),
            ("paragraphs", "paragraphs", cfg.max_duplicate_paragraph_fraction, cfg.max_duplicate_paragraph_chars),
        ):
            if max_share is None and max_chars is None:
                continue
            share, chars = duplicate_fractions(getattr(stats, pieces))
            if max_share is not None and share > max_share:
                return Drop(f"duplicate_{unit}", f"{share:.2f} of {unit} are repeats > {max_share}")
            if max_chars is not None and chars > max_chars:
                return Drop(f"duplicate_{unit}", f"repeated {unit} hold {chars:.2f} of characters > {max_chars}")
        for n, limit in sorted(cfg.max_top_ngram_chars.items()):
            share = top_ngram_char_fraction(stats.lower_words, n, stats.word_chars)
            if share > limit:
                return Drop(f"top_ngram:{n}", f"most frequent {n}-gram holds {share:.2f} of word characters > {limit}")
        for n, limit in sorted(cfg.max_duplicate_ngram_chars.items()):
            share = duplicate_ngram_char_fraction(stats.lower_words, n, stats.word_chars)
            if not share and n >= 2:  # no repeated n-gram means no repeated longer one: skip the rest
                break
            if share > limit:
                return Drop(
                    f"duplicate_ngrams:{n}", f"repeated {n}-grams hold {share:.2f} of word characters > {limit}"
                )
        return None


def _share(items: list[str], predicate) -> float:  # type: ignore[no-untyped-def]
    return sum(map(predicate, items)) / len(items) if items else 0.0
