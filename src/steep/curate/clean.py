"""Text repair: ftfy for encodings, then our own OCR passes. Never drops a document.

Order of passes (each can be switched off in `CleanConfig`):

1. ftfy, conservative: mojibake (`cafÃ©` -> `café`), bad line breaks, control characters, HTML entities
   in non-HTML text. Curly quotes, full-width characters and NFC normalisation are left as written.
2. ligatures (ﬁ ﬂ ﬀ ﬃ ﬄ ﬅ ﬆ) and long s (ſ) -> plain letters.
3. page furniture: page-number lines (`Page 3 of 5`, `- 3 -`, `3/5`, an increasing run of bare numbers)
   and running headers/footers (short lines that repeat on the first/last line of pages) are removed;
   the page break they leave is healed by pass 4. Only in documents with page structure (form feeds or
   page numbers): elsewhere a repeated short line is content.
4. broken lines: `infor-\\nmation` -> `information` (join when the piece after the break starts lowercase;
   keep the hyphen when the hyphenated form is used elsewhere in the document), and hard-wrapped lines
   join into paragraphs (no sentence punctuation at the end of the line, and the next line starts
   lowercase or the line ends in a word no sentence ends with: "the", "of", "and" ...).
5. whitespace: exotic spaces -> space, zero-width characters out, trailing spaces and runs of inner
   spaces collapsed, at most one blank line between paragraphs.

Structure is respected: fenced code blocks are left untouched, and list items, headings, tables, block
quotes and indented code never get joined onto the line above. Clean text comes out unchanged, and
`clean_text` is idempotent.

    from steep.curate.clean import clean_text
    clean_text("The infor-\\nmation is ready.")  # 'The information is ready.'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

import ftfy
from ftfy.badness import badness

from steep.curate.block import Block, DropSink
from steep.curate.config import CleanConfig
from steep.curate.document import Document, Drop
from steep.curate.ocr_correct import CorrectorConfig, correct_words
from steep.curate.spelling import is_word

# ---------------------------------------------------------------------------------------------- characters

LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st", "ſ": "s"})
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Zero-width space, word joiner and a stray BOM carry nothing. ZWJ/ZWNJ are kept: emoji and Indic/Persian
# scripts need them.
_ZERO_WIDTH = re.compile("[\u200b\u2060\ufeff]")
_SOFT_HYPHEN = "\u00ad"


@lru_cache(maxsize=8)
def _ftfy_config(unescape_html: bool | str, fix_encoding: bool = True) -> ftfy.TextFixerConfig:
    return ftfy.TextFixerConfig(
        unescape_html=unescape_html,
        fix_encoding=fix_encoding,
        uncurl_quotes=False,  # “ ” ‘ ’ are the author's, not damage
        fix_latin_ligatures=False,  # our own pass below, so one switch controls it
        fix_character_width=False,  # full-width forms are meaningful in CJK text
        normalization="NFC",  # NFKC would rewrite ², ½, ™ ...: too aggressive for training text
        explain=False,
    )


# Real mojibake evidence: ftfy's count of character sequences that are typical of text decoded with the wrong
# codec. One such spot is enough when what it decodes to is Western text (cp1252 can write it: `cafÃ©` -> `café`);
# a lone spot that decodes to anything else is more likely OCR noise (`Ä«l` -> `īl`): only a text with at least
# this many spots is re-decoded then.
_MOJIBAKE_MIN_SPOTS = 3


def _is_western(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def fix_unicode(text: str, unescape_html: bool | str = "auto") -> str:
    """ftfy's repairs; its encoding repair only where the text really is mojibake (see `_MOJIBAKE_MIN_SPOTS`)."""
    plain = ftfy.fix_text(text, _ftfy_config(unescape_html, fix_encoding=False))
    if plain.isascii():
        return plain  # ASCII cannot be mojibake
    decoded = ftfy.fix_text(text, _ftfy_config(unescape_html, fix_encoding=True))
    if decoded == plain:
        return plain
    if all(map(_is_western, set(decoded) - set(plain))) or badness(text) >= _MOJIBAKE_MIN_SPOTS:
        return decoded
    # Some spots are Western mojibake and some are not: decide word by word (`cafÃ©` yes, `Ä«l` no).
    return _NON_BLANK.sub(lambda m: _fix_word_encoding(m.group(0)), plain)


_NON_BLANK = re.compile(r"[^ \t\n]+")  # not \s: U+00A0 can be the second byte of a mojibake pair (`Ã\xa0` = `à`)


def _fix_word_encoding(word: str) -> str:
    if word.isascii():
        return word
    fixed = ftfy.fix_encoding(word)
    return fixed if all(map(_is_western, set(fixed) - set(word))) else word


# ---------------------------------------------------------------------------------------------- line shapes

PAGE_BREAK = None  # sentinel in the line list: where a form feed or removed page furniture was

_FENCE = re.compile(r"^\s*(```|~~~)")
_STRUCTURAL = re.compile(
    r"""^(?:
        \s*(?:[-*+•▪‣◦·]|\d{1,3}[.)]|[A-Za-z][.)]|\(\w{1,3}\))\s   # list item
      | \s*\#{1,6}\s                                            # markdown heading
      | \s*[|>]                                                 # table row, block quote
      | (?:\ {4}|\t)                                            # indented code
      | \s*([-*_=])\s*(?:\1\s*){2,}$                            # horizontal rule
    )""",
    re.VERBOSE,
)
_PAGE_NUMBER = re.compile(
    r"""^\s*(?:
        (?:page|pg\.?|p\.|seite|s\.)\s*\d{1,4}(?:\s*(?:of|/|von|de)\s*\d{1,4})?   # Page 3, Page 3 of 5
      | [-–—]\s*\d{1,4}\s*[-–—]                                               # - 3 -
      | \d{1,4}\s*/\s*\d{1,4}                                                 # 3/5
    )\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
# "ACME Policy Manual — Page 3" style footers: short lines that end in a separator and a page number
# (the separator keeps "see page 3" as content).
_ENDS_IN_PAGE_NUMBER = re.compile(r"(?i)[|·•—–,-]\s*page\s+\d{1,4}(?:\s+of\s+\d{1,4})?\s*$")
_BARE_NUMBER = re.compile(r"^\s*(\d{1,4})\s*$")
_HYPHENATED_BREAK = re.compile(r"[^\W\d_]-$")  # a letter, then a hyphen, at the end of a line
_STANDS_ALONE = re.compile(r"^(?:\s*\#{1,6}\s|\s*[|>]|\ {4}|\t|\s*([-*_=])\s*(?:\1\s*){2,}$)")
_HYPHENATED_WORD = re.compile(r"\b([^\W\d_]+)-([^\W\d_]+)\b")
_SENTENCE_END = re.compile(r"[.!?:;…][\"'”’»)\]]*$")
# A line ending in one of these words almost never ends a sentence, so the next line continues it even
# when it starts uppercase ("... sent it to the" / "Berlin office").
_CONTINUING_WORDS = frozenset(
    "a an the of to and or but nor with for in on at by from as that than into onto via per is "  # noqa: SIM905
    "are was were be been our your their his her its my mr. mrs. ms. dr.".split()
)
_HEADER_MAX_WORDS = 12
_HEADER_MAX_CHARS = 100


def _fence_mask(lines: Sequence[str | None]) -> list[bool]:
    """True for lines inside (or opening/closing) a fenced code block."""
    mask, inside = [], False
    for line in lines:
        if line is not None and _FENCE.match(line):
            mask.append(True)
            inside = not inside
        else:
            mask.append(inside)
    return mask


def _is_blank(line: str | None) -> bool:
    return line is not None and not line.strip()


# ---------------------------------------------------------------------------------------------- page furniture


def _header_key(line: str) -> str:
    """Lines that differ only in digits or spacing are the same running header ("Chapter 2 · 14")."""
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", line.strip().casefold()))


def _looks_like_header(line: str) -> bool:
    text = line.strip()
    return (
        0 < len(text) <= _HEADER_MAX_CHARS
        and len(text.split()) <= _HEADER_MAX_WORDS
        and any(c.isalpha() for c in text)
        and not _STRUCTURAL.match(line)
        # A line starting lowercase continues a sentence; a lowercase footer is a single token (www.acme.com).
        and not (_starts_lowercase(text) and " " in text)
    )


def _is_page_number(line: str) -> bool:
    if _ENDS_IN_PAGE_NUMBER.search(line) and len(line.split()) <= _HEADER_MAX_WORDS:
        return True
    if not _PAGE_NUMBER.match(line):
        return False
    fraction = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", line)
    return fraction is None or int(fraction.group(1)) <= int(fraction.group(2))  # "3/5" yes, "24/7" no


def _increasing_bare_numbers(lines: Sequence[str | None], fence: Sequence[bool]) -> set[int]:
    """Bare-number lines that read as page numbers: at least two, strictly increasing, each at least
    three content lines after the previous one. A lone "42" in a clean document is data, not a page."""
    found: list[tuple[int, int, int]] = []  # (line index, value, content-line ordinal)
    ordinal = 0
    for i, line in enumerate(lines):
        if line is None or fence[i] or not line.strip():
            continue
        ordinal += 1
        m = _BARE_NUMBER.match(line)
        if m:
            found.append((i, int(m.group(1)), ordinal))
    run: list[int] = []
    best: set[int] = set()
    prev: tuple[int, int, int] | None = None
    for item in found:
        if prev is not None and item[1] > prev[1] and item[2] - prev[2] >= 3:
            run.append(item[0])
        else:
            if len(run) >= 2:
                best.update(run)
            run = [item[0]]
        prev = item
    if len(run) >= 2:
        best.update(run)
    return best


def remove_page_furniture(
    lines: list[str | None], min_repeats: int = 2, tally: Counter[str] | None = None
) -> list[str | None]:
    """Replace page numbers and running headers/footers with `PAGE_BREAK`; form feeds become `PAGE_BREAK`."""
    tally = tally if tally is not None else Counter()
    # Form feeds are the OCR/pdftotext page separator: split them out as explicit page breaks.
    split: list[str | None] = []
    for line in lines:
        if line is None or "\f" not in line:
            split.append(line)
            continue
        parts = line.split("\f")
        for k, part in enumerate(parts):
            if k:
                split.append(PAGE_BREAK)
            if part.strip():
                split.append(part)
    lines = split
    fence = _fence_mask(lines)

    page_lines = {i for i, line in enumerate(lines) if line is not None and not fence[i] and _is_page_number(line)}
    page_lines |= _increasing_bare_numbers(lines, fence)
    form_feeds = {i for i, line in enumerate(lines) if line is PAGE_BREAK}
    if not page_lines and not form_feeds:
        return lines  # no page structure: repeated short lines are content (a chorus, "Yes", a signature)

    # Running headers/footers live on the edges of pages: peel the first and last line of every page, and
    # remove those whose text (digits aside) repeats on at least `min_repeats` page edges. Two rounds, so
    # a two-line header ("ACME Corp" / "Policy Manual") goes too, but a repeated line deeper in a page
    # stays unless the lines between it and the edge went first.
    pages: list[list[int]] = [[]]
    for i, line in enumerate(lines):
        if line is PAGE_BREAK or i in page_lines:
            if pages[-1]:
                pages.append([])
        elif line.strip() and not fence[i]:
            pages[-1].append(i)
    header_lines: set[int] = set()
    for _ in range(2):
        edges: dict[str, list[int]] = {}
        for page in pages:
            remaining = [i for i in page if i not in header_lines]
            for i in dict.fromkeys(remaining[:1] + remaining[-1:]):  # first and last (once if the same)
                line = lines[i] or ""
                if _looks_like_header(line):
                    edges.setdefault(_header_key(line), []).append(i)
        peeled = {i for hits in edges.values() if len(hits) >= min_repeats for i in hits}
        if not peeled:
            break
        header_lines |= peeled

    tally["page_number_lines"] += len(page_lines)
    tally["header_footer_lines"] += len(header_lines)
    removed = page_lines | header_lines
    return [PAGE_BREAK if i in removed else line for i, line in enumerate(lines)]


# ---------------------------------------------------------------------------------------------- broken lines


def _starts_lowercase(line: str) -> bool:
    head = line.lstrip()[:1]
    return head.isalpha() and head.islower()


def _ends_in_continuing_word(line: str) -> bool:
    words = line.split()
    return bool(words) and words[-1].casefold() in _CONTINUING_WORDS


def _can_continue(prev: str) -> bool:
    """Can `prev` be followed by more of the same paragraph? Headings, tables, quotes, rules and indented
    code stand alone; a list item may wrap onto the next line."""
    return not _STANDS_ALONE.match(prev)


def _keeps_hyphen(left: str, right: str, hyphenated: set[str]) -> bool:
    """A hyphen at a line break belongs to the word when the text writes the hyphenated form elsewhere, or when
    both halves are words and their join is not (`well-known`, `self-evident`; `con-tent` -> `content`)."""
    if f"{left}-{right}".casefold() in hyphenated:
        return True
    joined = (left + right).lower()
    return is_word(left.lower()) and is_word(right.lower()) and not is_word(joined)


def _merge(prev: str, cur: str, dehyphenate: bool, join: bool, hyphenated: set[str], tally: Counter[str]) -> str | None:
    """The merged line, or None when `cur` starts a line of its own."""
    if _STRUCTURAL.match(cur) or not _can_continue(prev):
        return None
    prev_r, cur_s = prev.rstrip(), cur.strip()
    if dehyphenate and _HYPHENATED_BREAK.search(prev_r) and _starts_lowercase(cur):
        left = re.search(r"([^\W\d_]+)-$", prev_r)
        right = re.match(r"[^\W\d_]+", cur_s)
        if left and right and _keeps_hyphen(left.group(1), right.group(0), hyphenated):
            tally["hyphenated_kept"] += 1
            return prev_r + cur_s  # "well-\nknown": a compound, not a word split by the line end
        tally["dehyphenated"] += 1
        return prev_r[:-1] + cur_s
    if join and not _SENTENCE_END.search(prev_r) and (_starts_lowercase(cur) or _ends_in_continuing_word(prev_r)):
        tally["lines_joined"] += 1
        return f"{prev_r} {cur_s}"
    return None


def merge_broken_lines(
    lines: list[str | None], dehyphenate: bool = True, join: bool = True, tally: Counter[str] | None = None
) -> list[str]:
    """Heal hyphenated and hard-wrapped lines, across page breaks too. A page break that does not heal
    becomes a paragraph break (one blank line); blank lines next to a page break belong to the break."""
    tally = tally if tally is not None else Counter()
    fence = _fence_mask(lines)
    hyphenated = {
        f"{m.group(1)}-{m.group(2)}".casefold()
        for i, line in enumerate(lines)
        if line is not None and not fence[i]
        for m in _HYPHENATED_WORD.finditer(line)
    }
    out: list[str] = []
    last_content_open = False  # the last content line emitted may be continued by the next one
    blanks_after = 0  # blank lines emitted since that content line
    pending_break = False
    for i, line in enumerate(lines):
        if line is PAGE_BREAK:
            del out[len(out) - blanks_after :]
            blanks_after = 0
            pending_break = True
            continue
        if fence[i]:
            if pending_break and out:
                out.append("")
            out.append(line)
            last_content_open, blanks_after, pending_break = False, 0, False
            continue
        if not line.strip():
            if not pending_break:
                out.append(line)
                blanks_after += 1
            continue
        if last_content_open and blanks_after == 0 and (dehyphenate or join):
            merged = _merge(out[-1], line, dehyphenate, join, hyphenated, tally)
            if merged is not None:
                out[-1] = merged
                pending_break = False
                continue
        if pending_break and out:
            out.append("")  # the page break did not heal: keep it as a paragraph break
        out.append(line)
        last_content_open, blanks_after, pending_break = True, 0, False
    return out


# ---------------------------------------------------------------------------------------------- whitespace


def normalize_whitespace(lines: list[str]) -> list[str]:
    """Trailing spaces off, inner runs of spaces to one (indentation kept), one blank line at most between
    paragraphs, no blank lines at the start or end. Fenced code keeps its spacing."""
    fence = _fence_mask(lines)
    out: list[str] = []
    for i, line in enumerate(lines):
        if fence[i]:
            out.append(line.rstrip())
            continue
        line = line.rstrip()
        if not line:
            if out and out[-1] != "":
                out.append("")
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        out.append(line[:indent] + re.sub(r" {2,}", " ", line[indent:]))
    while out and out[-1] == "":
        out.pop()
    return out


# ---------------------------------------------------------------------------------------------- the pass


def clean_text(text: str, cfg: CleanConfig | None = None, tally: Counter[str] | None = None) -> str:
    """Repair one text. `tally`, when given, counts what each pass did (lines joined, headers removed)."""
    cfg = cfg or CleanConfig()
    tally = tally if tally is not None else Counter()
    if not cfg.enabled:
        return text
    if cfg.fix_unicode:
        text = fix_unicode(text, cfg.unescape_html)
    if cfg.ligatures:
        text = text.translate(LIGATURES)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if cfg.normalize_whitespace:
        text = _ZERO_WIDTH.sub("", _ODD_SPACES.sub(" ", text))
    if cfg.dehyphenate:
        # A soft hyphen at a line break is an explicit "word continues here"; anywhere else it is invisible.
        text = re.sub(_SOFT_HYPHEN + r"[ \t]*\n[ \t]*", "", text).replace(_SOFT_HYPHEN, "")

    lines: list[str | None] = list(text.split("\n"))
    if cfg.headers_footers:
        lines = remove_page_furniture(lines, cfg.header_min_repeats, tally)
    if cfg.dehyphenate or cfg.join_lines:
        merged = merge_broken_lines(lines, cfg.dehyphenate, cfg.join_lines, tally)
    else:
        merged = ["" if line is PAGE_BREAK else line for line in lines]
    if cfg.correct_words:
        # After the joins, so a word split across lines is corrected whole; code blocks stay as written.
        corrector = CorrectorConfig(margin=cfg.correct_margin)
        fence = _fence_mask(merged)
        merged = [line if fence[i] else correct_words(line, corrector, tally) for i, line in enumerate(merged)]
    if cfg.normalize_whitespace:
        merged = normalize_whitespace(merged)
    return "\n".join(merged)


class TextCleaner(Block):
    """Block: repairs every document's text; keeps a few before/after examples for the report."""

    name = "clean"

    def __init__(self, cfg: CleanConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or CleanConfig()
        self.examples: list[dict[str, str]] = []

    def apply(self, doc: Document) -> Document | Drop:
        repaired = clean_text(doc.text, self.cfg, self.stats.counters)
        if repaired == doc.text:
            return doc
        self.stats.counters["docs_changed"] += 1
        # Report examples show real repairs; a change of whitespace alone says little.
        if len(self.examples) < self.cfg.examples_in_report and doc.text.split() != repaired.split():
            self.examples.append({"id": doc.id, "before": doc.text, "after": repaired})
        return replace(doc, text=repaired)
