"""Gates: drop what must not be trained on. Compliance (blocked terms and patterns) and time (cutoff date).

    gate = ComplianceGate(ComplianceConfig(terms=["Project Falcon"]))
    gate.apply(Document("1", "notes on project   FALCON"))
    # Drop(reason='compliance:Project Falcon', detail="matched 'project   FALCON' at char 9")

Terms match case-insensitively as whole phrases: `falcon` does not fire on `falconry`, and the words of
a phrase may be separated by any whitespace (a line break in OCR text included). Patterns are Python
regexes, applied as written. Both come from the YAML and/or from files (`terms_file`, `patterns_file`: one
entry per line, `#` comment lines); all of a gate's terms are one trie-shaped regex (`steep.curate.lexicon`),
so 10,000 terms cost about what 100 do.

Each gate may also carry a classifier trained at stage start on the operator's labeled examples
(`steep.curate.classifier`); it runs last, only on documents the lexicons let through.

Every drop names what fired: `compliance:<term>` / `compliance:/<pattern>/` / `compliance:classifier`,
`time:date>cutoff` / `time:undated` / `time:term:<term>` / `time:/<pattern>/` / `time:classifier`; the detail
holds the matched text and its character offset, the date, or the classifier's probability.

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
from pathlib import Path
from typing import Any

from steep.curate.block import Block, DropSink
from steep.curate.classifier import GateClassifierConfig, TextClassifier
from steep.curate.config import ComplianceConfig, TimeGateConfig
from steep.curate.document import Document, Drop
from steep.curate.lexicon import PatternMatcher, PhraseMatcher, read_lexicon

__all__ = ["ComplianceGate", "PatternMatcher", "PhraseMatcher", "TimeGate", "latest_day"]

_DETAIL_CHARS = 200


def _entries(inline: Sequence[str], path: Path | None) -> list[str]:
    return [*inline, *(entry for _, entry in read_lexicon(path))] if path is not None else list(inline)


class _Lexicons:
    """A gate's terms, patterns and optional classifier, checked in that order (cheapest first); `check` returns
    the first that fires as a Drop, or None."""

    def __init__(
        self,
        gate: str,
        term_prefix: str,
        terms: Sequence[str],
        patterns: Sequence[str],
        classifier: GateClassifierConfig | None,
    ) -> None:
        self.gate, self.term_prefix = gate, term_prefix
        self.terms = PhraseMatcher(terms)
        self.patterns = PatternMatcher(patterns)
        self.threshold = classifier.threshold if classifier is not None else 1.0
        self.classifier = TextClassifier.from_config(classifier) if classifier is not None else None

    def check(self, text: str) -> Drop | None:
        hit = self.terms.search(text)
        if hit is not None:
            return Drop(f"{self.term_prefix}{hit.entry}", hit.describe(_DETAIL_CHARS))
        hit = self.patterns.search(text)
        if hit is not None:
            return Drop(f"{self.gate}:/{hit.entry}/", hit.describe(_DETAIL_CHARS))
        if self.classifier is not None:
            p = self.classifier.probability(text)
            if p >= self.threshold:
                return Drop(f"{self.gate}:classifier", f"p={p:.3f} >= threshold {self.threshold}")
        return None


class ComplianceGate(Block):
    """Drops documents that mention a blocked term (`compliance:<term>`), match a pattern
    (`compliance:/<pattern>/`) or that the classifier scores >= threshold (`compliance:classifier`)."""

    name = "compliance"

    def __init__(self, cfg: ComplianceConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        cfg = cfg or ComplianceConfig()
        self.lexicons = _Lexicons(
            "compliance",
            "compliance:",
            _entries(cfg.terms, cfg.terms_file),
            _entries(cfg.patterns, cfg.patterns_file),
            cfg.classifier,
        )

    def apply(self, doc: Document) -> Document | Drop:
        return self.lexicons.check(doc.text) or doc


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
        raise ValueError(f"not a date: {value!r}")  # noqa: TRY004 - one error type: callers report any bad date
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
    """Drops documents dated after `cutoff` (`time:date>cutoff`), naming a post-cutoff term (`time:term:<term>`),
    matching a pattern (`time:/<pattern>/`) or scored >= threshold by the classifier (`time:classifier`); with
    `undated: drop`, also those without a usable date (`time:undated`)."""

    name = "time"

    def __init__(self, cfg: TimeGateConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or TimeGateConfig()
        self.lexicons = _Lexicons(
            "time",
            "time:term:",
            _entries(self.cfg.terms, self.cfg.terms_file),
            _entries(self.cfg.patterns, self.cfg.patterns_file),
            self.cfg.classifier,
        )

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
                        return Drop("time:date>cutoff", f"meta.{self.cfg.date_field} {shown} > cutoff {cutoff}")
            if problem is not None:
                self.stats.counters["undated"] += 1
                if self.cfg.undated == "drop":
                    return Drop("time:undated", problem)
        return self.lexicons.check(doc.text) or doc
