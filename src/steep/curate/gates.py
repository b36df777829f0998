"""Gates: drop what must not be trained on. Compliance (blocked terms and patterns) and time (cutoff date).

    gate = ComplianceGate(ComplianceConfig(terms=["Project Falcon"]))
    gate.apply(Document("1", "notes on project   FALCON"))  # Drop(reason='compliance:Project Falcon', ...)

Terms match case-insensitively as whole phrases: `falcon` does not fire on `falconry`, and the words of
a phrase may be separated by any whitespace (a line break in OCR text included). Patterns are Python
regexes, applied as written.

The time gate keeps only what was knowable at `cutoff`: a document dated after it is dropped
(`time:date>cutoff`), and so is one that names a configured post-cutoff term (`time:term:<term>`). A
partial date counts as its last day (`2024` -> 2024-12-31, `2024-06` -> 2024-06-30): a gate errs on the
side of not leaking.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from steep.curate.block import Block, DropSink
from steep.curate.config import ComplianceConfig, TimeGateConfig
from steep.curate.document import Document, Drop

_DETAIL_CHARS = 200


def _phrase_regex(phrase: str) -> str:
    words = [re.escape(w) for w in phrase.split()]
    # (?<!\w) / (?!\w) instead of \b so a phrase that starts or ends in punctuation ("C++") still works.
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


class PhraseMatcher:
    """Case-insensitive whole-phrase search over many phrases in one regex pass."""

    def __init__(self, phrases: Sequence[str]) -> None:
        # Longest first, so a document naming "Falcon 2" reports that rather than a shorter term "Falcon".
        self.phrases = sorted(dict.fromkeys(phrases), key=len, reverse=True)
        alternatives = [f"(?P<t{i}>{_phrase_regex(p)})" for i, p in enumerate(self.phrases)]
        self._regex = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None

    def search(self, text: str) -> tuple[str, str] | None:
        """(configured phrase, matched text) of the leftmost match, or None."""
        if self._regex is None:
            return None
        m = self._regex.search(text)
        if m is None:
            return None
        index = int((m.lastgroup or "t0")[1:])
        return self.phrases[index], m.group(0)


class ComplianceGate(Block):
    """Drops documents that mention a blocked term (`compliance:<term>`) or match a pattern
    (`compliance:/<pattern>/`); the detail is the matched text."""

    name = "compliance"

    def __init__(self, cfg: ComplianceConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        cfg = cfg or ComplianceConfig()
        self.terms = PhraseMatcher(cfg.terms)
        self.patterns = [(p, re.compile(p)) for p in cfg.patterns]

    def apply(self, doc: Document) -> Document | Drop:
        hit = self.terms.search(doc.text)
        if hit is not None:
            term, matched = hit
            return Drop(f"compliance:{term}", f"matched {matched[:_DETAIL_CHARS]!r}")
        for pattern, regex in self.patterns:
            m = regex.search(doc.text)
            if m is not None:
                return Drop(f"compliance:/{pattern}/", f"matched {m.group(0)[:_DETAIL_CHARS]!r}")
        return doc


def latest_day(value: Any) -> date:
    """The last calendar day a date value can mean. Accepts date/datetime, ISO strings (date, datetime with
    or without zone, `YYYY-MM`, `YYYY`) and integer years. Raises ValueError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 9999:
        return date(value, 12, 31)
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    if re.fullmatch(r"\d{4}", text):
        return date(int(text), 12, 31)
    m = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"not a date: {value!r}")
        return date(year, month, calendar.monthrange(year, month)[1])
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    if re.match(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text[:10])  # "2024-05-01 10:00:00 UTC": the day is what matters
    raise ValueError(f"not a date: {value!r}")


class TimeGate(Block):
    """Drops documents dated after `cutoff` (`time:date>cutoff`) or naming a post-cutoff term
    (`time:term:<term>`); with `undated: drop`, also those without a usable date (`time:undated`)."""

    name = "time"

    def __init__(self, cfg: TimeGateConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or TimeGateConfig()
        self.terms = PhraseMatcher(self.cfg.terms)

    def apply(self, doc: Document) -> Document | Drop:
        cutoff = self.cfg.cutoff
        if cutoff is not None:
            value = doc.meta.get(self.cfg.date_field)
            problem = None
            if value is None or value == "":
                problem = f"no meta.{self.cfg.date_field}"
            else:
                try:
                    day = latest_day(value)
                except ValueError:
                    problem = f"unparseable meta.{self.cfg.date_field} {value!r}"
                else:
                    if day > cutoff:
                        shown = str(value) if str(value) == day.isoformat() else f"{value} (read as {day})"
                        return Drop("time:date>cutoff", f"{shown} > {cutoff}")
            if problem is not None:
                self.stats.counters["undated"] += 1
                if self.cfg.undated == "drop":
                    return Drop("time:undated", problem)
        hit = self.terms.search(doc.text)
        if hit is not None:
            term, matched = hit
            return Drop(f"time:term:{term}", f"matched {matched[:_DETAIL_CHARS]!r}")
        return doc
