"""Reading a document's text for when it was written: the evidence the time gate uses on undated documents.

    latest_year_evidence("Printed in London, 1936. Price 2s.", cutoff=date(1930, 12, 31))
    # YearEvidence(year=1936, kind='year', snippet='in London, 1936.', offset=19)

A metadata date is the best evidence; many lakes have none (scans, exports, wiki dumps). Text names its time in
a few general ways, and this module reads those, not rules fitted to one corpus:
- full dates: `December 9th, 1894`, `9 Dec. 1894`, `1894-12-09`, `12/9/1894`; months: `March 1931`;
- years in a year-like context: `in 1935`, `since 1936`, `the 1936 edition`, `(1937)`, `© 1938`, `1930s`;
- bare year-shaped numbers with no context either way: weak, so two distinct ones are needed, and none that
  stands among other figures (a table of amounts is full of 4-digit numbers).

Numbers that are not years are refused by their context: prices (`$1935`, `£1,935`, `1935.50`), counts and
measures (`1935 men`, `1935 acres`, `1935 ft`), identifiers (`No. 1935`, `page 1935`, `order 1935`), addresses
(`1935 Elm Street`), phone numbers and ranges of digits (`555-1935`, `1,935,000`). And a year in a forward-looking
sentence (`by 1935`, `we expect ... in 1935`, `the 1936 target`) is a plan, not a date: a pre-cutoff text may
name a later year that way, so it is not evidence.

A mention only says "this text was written in or after that year"; the gate drops when that year is after the
cutoff's year (or a full date / month after the cutoff itself). Measured on real 1841-1894 pages and hand-written
dated texts: bench/curate/RESULTS.md.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

# Years this module reads: wide enough for old books and for the future of a business lake.
MIN_YEAR, MAX_YEAR = 1000, 2199

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS |= {"sept": 9}
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"

# A 4-digit number that is not part of a longer number, a decimal, a thousands group, an id like A-1935 or x1935.
_YEAR = re.compile(r"(?<![\w$£€¥#@])(?<!\d[.,:/-])(1\d{3}|2[01]\d{2})(?![\w%])(?!'?s\b)(?![.,:]\d)(?!-\d{3})")
_DECADE = re.compile(r"(?<![\w$£€¥#@])(1\d{2}0|2[01]\d0)'?s\b")
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH}),?\s+(1\d{{3}}|2[01]\d{{2}})\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(1\d{{3}}|2[01]\d{{2}})\b", re.I)
_MONTH_YEAR = re.compile(rf"\b({_MONTH}),?\s+(1\d{{3}}|2[01]\d{{2}})\b", re.I)
_ISO_DATE = re.compile(r"(?<![\d-])(1\d{3}|2[01]\d{2})-(\d{2})-(\d{2})(?!\d)")
_NUMERIC_DATE = re.compile(r"(?<![\d/.])(\d{1,2})[/.](\d{1,2})[/.](1\d{3}|2[01]\d{2})(?!\d|[/.]\d)")

# Context that makes a year-shaped number a year: the words right before it ...
_YEAR_BEFORE = re.compile(
    r"(?:\b(?:in|of|since|during|from|after|year|anno|a\.?\s?d\.?|circa|ca\.|c\.|early|late|mid|summer|winter|"
    r"spring|autumn|fall|copyright|established|founded|published|printed|dated|born|died|season|fiscal|fy|"
    r"class of|edition of|revised|updated|written|issued|census of|between)"
    r"|[©(\[])\s*-?\s*$",
    re.I,
)
# ... or right after it.
_YEAR_AFTER = re.compile(r"^\s*(?:edition|census|elections?|olympics|season|annual report|report|[)\]]|a\.?d\.?\b|"
                         r"-\s?(?:\d{2}|\d{4})\b|–\s?\d{2,4})", re.I)  # fmt: skip
# Context that makes it something else.
_NOT_YEAR_BEFORE = re.compile(
    r"(?:[$£€¥#]|\b(?:rs|usd|eur|gbp|chf|no|nos|nr|num|number|page|pages|p|pp|vol|volume|room|suite|box|route|"
    r"order|invoice|ticket|account|acct|ref|id|item|part|model|serial|flight|tel|phone|ext|policy|claim|case|"
    r"code|pin|unit|apt|lot|plot|hwy|highway|bus|train|table|fig|figure|line|row|step|version|v|item|sku|"
    r"over|about|some|nearly|approximately|total|totalling)\.?)\s*$",
    re.I,
)
_NOT_YEAR_AFTER = re.compile(
    r"^\s*(?:%|percent|per\s+cent|x\b|[×*/+=]|(?:sq|square|cubic)\b|"
    r"(?:km|kg|g|mg|m|cm|mm|mi|miles?|metres?|meters?|feet|foot|ft|inch(?:es)?|in\.|yards?|yds?|lbs?|pounds?|"
    r"tons?|tonnes?|acres?|hectares?|dollars?|euros?|francs?|marks?|shillings?|guineas?|units?|items?|"
    r"pieces?|people|persons?|men|women|children|souls|employees|staff|workers|customers|members|copies|pages|"
    r"words|votes|times|hours?|hrs?|minutes?|mins?|seconds?|secs?|days|weeks|months|years|gallons?|litres?|"
    r"liters?|barrels?|bushels?|shares|rooms|beds|cases|deaths|ships|horses|head|troops|soldiers|rupees|yen|"
    r"calories|volts?|watts?|kw|mw|hp|rpm|mph|kph|bytes?|kb|mb|gb)\b)",
    re.I,
)
_STREET = re.compile(r"^\s+(?:[NSEW]\.?\s+)?(?:[A-Z][\w'.]*\s+){1,3}(?:street|st|road|rd|avenue|ave|lane|ln|"
                     r"boulevard|blvd|drive|dr|way|place|pl|court|ct|square|sq|terrace|parkway|pkwy|highway)\b\.?",
                     re.I)  # fmt: skip
# "London, 1936", "Smith, 1936", "Vol. II, 1936": an imprint or a citation (case matters: a capitalised name).
_NAME_COMMA_BEFORE = re.compile(r"\b[A-Z][a-z]+\.?,\s*$|\b[IVXL]+\.?,\s*$")
# Another number right beside a bare one: a table or a list of figures, where 4-digit amounts are common.
_DIGIT_NEAR = re.compile(r"\d")
_NEAR_CHARS = 12
# A plan, forecast or deadline: a pre-cutoff text may name a later year this way.
_FORWARD = re.compile(
    r"\b(?:by|before|will|shall|would|plan(?:s|ned|ning)?|target(?:s|ed)?|forecasts?|expect(?:s|ed)?|"
    r"project(?:ed|ion|ions)?|goals?|aims?|intend(?:s|ed)?|scheduled|due|deadline|budget(?:ed)?|outlook|"
    r"estimates?|anticipated?|next|future|until|through|up\s+to|vision|roadmap|predict(?:s|ed|ion)?)\b",
    re.I,
)
# ... or a plan stated right after the year, in the same sentence: "On 1 March 1936 the branch is expected to open".
# Not a bare "will": after a past date it is as often the reader's ("in the Telegraph of July 10, 1874, you will
# find"), which cost two real post-cutoff pages of the ICDAR set.
_FORWARD_AFTER = re.compile(
    r"^[^.!?;\n]{0,40}?\b(?:(?:is|are)\s+(?:expected|scheduled|planned|due|projected)\s+to|plans?\s+to|"
    r"intends?\s+to|aims?\s+to)\b",
    re.I,
)
_SENTENCE_START = re.compile(r"[.!?;\n]\s")
_BEFORE_CHARS, _AFTER_CHARS = 30, 40


@dataclass(frozen=True)
class YearEvidence:
    """A dated mention: the latest day it can mean (`day`), how it was read, and where."""

    day: date
    kind: str  # "date" (day or month given), "year" (a year in a year-like context), "bare" (no context)
    snippet: str
    offset: int

    @property
    def year(self) -> int:
        return self.day.year

    def describe(self) -> str:
        return f"{self.kind} {self.snippet!r} at char {self.offset}"


def _snippet(text: str, start: int, end: int) -> str:
    return " ".join(text[max(0, start - 12) : end + 8].split())


def _sentence_before(text: str, start: int) -> str:
    window = text[max(0, start - 120) : start]
    cut = [m.end() for m in _SENTENCE_START.finditer(window)]
    return window[cut[-1] :] if cut else window


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _dates(text: str) -> tuple[list[YearEvidence], list[tuple[int, int]]]:
    """Explicit dates (a day or a month, and a year) and the spans they cover. Invalid ones (31 February) are
    skipped."""
    found: list[YearEvidence] = []
    spans: list[tuple[int, int]] = []

    def add(year: int, month: int, day: int | None, start: int, end: int) -> None:
        try:
            value = date(year, month, day) if day is not None else _month_end(year, month)
        except ValueError:
            return
        spans.append((start, end))
        planned = _FORWARD.search(_sentence_before(text, start)) or _FORWARD_AFTER.match(text[end : end + _AFTER_CHARS])
        if MIN_YEAR <= year <= MAX_YEAR and not planned:
            found.append(YearEvidence(value, "date", _snippet(text, start, end), start))

    for m in _ISO_DATE.finditer(text):
        add(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.start(), m.end())
    for m in _NUMERIC_DATE.finditer(text):
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        # d/m/y or m/d/y: either way the year is what matters; take the reading that is a valid date, the later
        # month when both are (a gate errs on the side of not leaking).
        month, day = (b, a) if a <= 12 < b or (a > 12) else (max(a, b), min(a, b)) if b <= 12 else (a, b)
        add(year, month, day, m.start(), m.end())
    for m in _DAY_MONTH_YEAR.finditer(text):
        add(int(m.group(3)), _MONTHS[m.group(2).lower().rstrip(".")], int(m.group(1)), m.start(), m.end())
    for m in _MONTH_DAY_YEAR.finditer(text):
        add(int(m.group(3)), _MONTHS[m.group(1).lower().rstrip(".")], int(m.group(2)), m.start(), m.end())
    for m in _MONTH_YEAR.finditer(text):
        word = m.group(1).lower().rstrip(".")
        if word in ("may", "march") and not m.group(1)[0].isupper():
            continue  # "you may 1935", "the march 1935": verbs unless capitalised
        add(int(m.group(2)), _MONTHS[word], None, m.start(), m.end())
    return found, spans


def classify_year(text: str, start: int, end: int) -> str | None:
    """How the year-shaped number at text[start:end] reads: "year", "bare", or None (not a year, or a plan)."""
    before, after = text[max(0, start - _BEFORE_CHARS) : start], text[end : end + _AFTER_CHARS]
    if _NOT_YEAR_BEFORE.search(before) or _NOT_YEAR_AFTER.match(after) or _STREET.match(after):
        return None
    if _FORWARD.search(_sentence_before(text, start)) or _FORWARD_AFTER.match(after):
        return None
    if _YEAR_BEFORE.search(before) or _YEAR_AFTER.match(after) or _NAME_COMMA_BEFORE.search(before):
        return "year"
    if _DIGIT_NEAR.search(before[-_NEAR_CHARS:]) or _DIGIT_NEAR.search(after[:_NEAR_CHARS]):
        return None  # a figure among figures: no context says it is a year
    return "bare"


def year_mentions(text: str) -> list[YearEvidence]:
    """Every dated mention in the text: explicit dates, contextual years, decades, bare year-shaped numbers."""
    found, spans = _dates(text)
    for m in _YEAR.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue  # the year of a date already read
        kind = classify_year(text, m.start(), m.end())
        if kind is not None:
            year = int(m.group(1))
            found.append(YearEvidence(date(year, 12, 31), kind, _snippet(text, m.start(), m.end()), m.start()))
    for m in _DECADE.finditer(text):
        if classify_year(text, m.start(), m.start() + 4) is not None:
            # "the 1930s" proves the writer knew 1930 at least (the decade's first year).
            found.append(YearEvidence(date(int(m.group(1)), 12, 31), "year", _snippet(text, m.start(), m.end()), m.start()))
    return sorted(found, key=lambda e: e.offset)


def post_cutoff_evidence(text: str, cutoff: date, bare_needed: int = 2) -> YearEvidence | None:
    """The strongest mention placing the text after `cutoff`, or None.

    A date or month counts when it is after the cutoff itself; a year when it is after the cutoff's year (a year
    alone cannot say which side of a mid-year cutoff it is on). One date or contextual year decides; bare
    year-shaped numbers need `bare_needed` distinct post-cutoff values (one could be a count the context did not
    give away)."""
    mentions = year_mentions(text)
    strong = [e for e in mentions if e.kind != "bare" and _after(e, cutoff)]
    if strong:
        return max(strong, key=lambda e: (e.day, -e.offset))
    bare = [e for e in mentions if e.kind == "bare" and _after(e, cutoff)]
    if len({e.year for e in bare}) >= bare_needed:
        return max(bare, key=lambda e: (e.day, -e.offset))
    return None


def _after(evidence: YearEvidence, cutoff: date) -> bool:
    if evidence.kind == "date":
        return evidence.day > cutoff
    return evidence.year > cutoff.year
