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
`time:date>cutoff` / `time:undated` / `time:text:date|year` / `time:anachronism:<term>` / `time:mined:<n-gram>` /
`time:classifier:lake` / `time:term:<term>` / `time:/<pattern>/` / `time:classifier`; the detail holds the
matched text and its character offset, the date, or the classifier's probability.

The time gate keeps only what was knowable at `cutoff`: a document dated after it is dropped
(`time:date>cutoff`), and so is one that names a configured post-cutoff term (`time:term:<term>`). A
partial date counts as its last day (`2024` -> 2024-12-31, `2024-06` -> 2024-06-30): a gate errs on the
side of not leaking. A document with no usable date is read for evidence of its time (`undated: infer`, see
`TimeGate`), dropped or kept, and counted either way.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from steep.curate.block import Block, DropSink
from steep.curate.classifier import GateClassifierConfig, TextClassifier
from steep.curate.config import ComplianceConfig, TimeGateConfig
from steep.curate.document import Document, Drop
from steep.curate.lexicon import PatternMatcher, PhraseMatcher, read_lexicon
from steep.curate.time_learn import Learned, learn_from_lake
from steep.curate.time_terms import OCR_CONFUSABLE, terms_after
from steep.curate.time_text import post_cutoff_evidence

__all__ = ["ComplianceGate", "PatternMatcher", "PhraseMatcher", "TimeGate", "latest_day", "meta_value"]

_DETAIL_CHARS = 200
log = logging.getLogger(__name__)


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


_MISSING = object()


def meta_value(meta: dict[str, Any], path: str) -> Any:
    """The value at `path` in a document's meta, `_MISSING` if absent: a key as written first (a key may contain a
    dot), else a dotted walk through nested mappings (`published.date`; a leading `meta.` is the meta itself)."""
    if path in meta:
        return meta[path]
    parts = path.split(".")
    if parts[0] == "meta" and len(parts) > 1 and "meta" not in meta:
        parts = parts[1:]
    node: Any = meta
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


# (time config, corpus key) -> what was learned from the lake's dated documents: once per process, not per shard.
_LEARNED_CACHE: dict[tuple[str, Hashable], Learned] = {}


class TimeGate(Block):
    """Drops documents dated after `cutoff` (`time:date>cutoff`), naming a post-cutoff term (`time:term:<term>`),
    matching a pattern (`time:/<pattern>/`) or scored >= threshold by the classifier (`time:classifier`).

    A document without a usable date is counted (`undated`) and then, by `undated`: kept; dropped
    (`time:undated`); or read (`infer`, the default): a date or a year after the cutoff in its text
    (`time:text:date`, `time:text:year`, `steep.curate.time_text`), a term first attested after it
    (`time:anachronism:<term>`, `steep.curate.time_terms`), n-grams of the lake's post-cutoff documents that no
    pre-cutoff one has (`time:mined:<n-gram>`), the lake-trained classifier (`time:classifier:lake`).

    `corpus` yields the lake's documents for what `infer` learns from the dated ones (`steep.curate.time_learn`);
    it is read once per process, on the first undated document."""

    name = "time"

    def __init__(
        self,
        cfg: TimeGateConfig | None = None,
        on_drop: DropSink | None = None,
        corpus: Callable[[], Iterable[Document]] | None = None,
        corpus_key: Callable[[], Hashable] | None = None,
    ) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or TimeGateConfig()
        self.lexicons = _Lexicons(
            "time",
            "time:term:",
            _entries(self.cfg.terms, self.cfg.terms_file),
            _entries(self.cfg.patterns, self.cfg.patterns_file),
            self.cfg.classifier,
        )
        infer, cutoff = self.cfg.infer, self.cfg.cutoff
        self._anachronisms = terms_after(cutoff.year) if cutoff is not None and infer.builtin_terms else {}
        self._anachronism_matcher = PhraseMatcher([t for t in self._anachronisms if t not in OCR_CONFUSABLE])
        self._confusable = {
            t: re.compile(rf"(?<!\w){re.escape(t)}(?!\w)", re.I) for t in self._anachronisms if t in OCR_CONFUSABLE
        }
        self._corpus, self._corpus_key = corpus, corpus_key
        self._learned: Learned | None = None

    def day_of(self, doc: Document) -> tuple[date | None, str]:
        """The document's date (its latest day) and, when there is none, why (for the detail)."""
        field = self.cfg.date_field
        value = meta_value(doc.meta, field)
        if value is _MISSING or value is None or value == "":
            self.stats.counters["undated_no_field" if value is _MISSING else "undated_empty"] += 1
            return None, f"no meta.{field}"
        try:
            return latest_day(value), ""
        except ValueError:
            self.stats.counters["undated_unparseable"] += 1
            return None, f"unparseable meta.{field} {value!r}"

    def apply(self, doc: Document) -> Document | Drop:
        cutoff = self.cfg.cutoff
        if cutoff is not None:
            day, problem = self.day_of(doc)
            if day is not None:
                self.stats.counters["dated"] += 1
                if day > cutoff:
                    value = meta_value(doc.meta, self.cfg.date_field)
                    shown = str(value) if str(value) == day.isoformat() else f"{value} (read as {day})"
                    return Drop("time:date>cutoff", f"meta.{self.cfg.date_field} {shown} > cutoff {cutoff}")
            else:
                self.stats.counters["undated"] += 1
                if self.cfg.undated == "drop":
                    self.stats.counters["undated_dropped"] += 1
                    return Drop("time:undated", problem)
                if self.cfg.undated == "infer":
                    inferred = self.infer(doc.text, cutoff)
                    if inferred is not None:
                        self.stats.counters["undated_dropped"] += 1
                        return Drop(inferred.reason, f"{problem}; {inferred.detail}")
                self.stats.counters["undated_kept"] += 1
        return self.lexicons.check(doc.text) or doc

    def infer(self, text: str, cutoff: date) -> Drop | None:
        """Evidence in the text that it was written after `cutoff`, cheapest first, as the Drop it earns."""
        infer = self.cfg.infer
        if infer.years:
            evidence = post_cutoff_evidence(text, cutoff, bare_needed=infer.bare_years or 10**9)
            if evidence is not None:
                kind = "date" if evidence.kind == "date" else "year"
                return Drop(f"time:text:{kind}", f"{evidence.describe()} is after cutoff {cutoff}")
        hit = self._anachronism_matcher.search(text)
        if hit is not None:
            first = self._anachronisms[hit.entry]
            return Drop(f"time:anachronism:{hit.entry}", f"{hit.describe(_DETAIL_CHARS)}; first attested {first}")
        confusable = [t for t, regex in self._confusable.items() if regex.search(text)]
        if len(confusable) >= 2:  # one could be an OCR misreading of an older word (time_terms.OCR_CONFUSABLE)
            shown = ", ".join(f"{t!r} ({self._anachronisms[t]})" for t in confusable)
            return Drop(f"time:anachronism:{confusable[0]}", f"terms first attested after the cutoff: {shown}")
        learned = self.learned()
        hits = learned.mined_hits(text)
        if hits and len(hits) >= learned.min_hits:
            shown = ", ".join(repr(h) for h in hits[:5])
            return Drop(f"time:mined:{hits[0]}", f"{len(hits)} n-gram(s) seen only after the cutoff: {shown}")
        if learned.classifier is not None and infer.classifier is not None:
            p = learned.classifier.probability(text)
            if p >= infer.classifier.threshold:
                return Drop("time:classifier:lake", f"p(after cutoff)={p:.3f} >= {infer.classifier.threshold}")
        return None

    def learned(self) -> Learned:
        """What the lake's dated documents teach (mined n-grams, the classifier): once per process and corpus."""
        if self._learned is None:
            infer, cutoff = self.cfg.infer, self.cfg.cutoff
            if self._corpus is None or cutoff is None or (infer.mine is None and infer.classifier is None):
                self._learned = Learned()
            else:
                key = (self.cfg.model_dump_json(), self._corpus_key() if self._corpus_key is not None else None)
                if key not in _LEARNED_CACHE or key[1] is None:
                    dated = ((doc.text, day) for doc in self._corpus() for day in [self._quiet_day(doc)] if day)
                    _LEARNED_CACHE[key] = learn_from_lake(dated, cutoff, infer)
                    learned = _LEARNED_CACHE[key]
                    # Logged, not counted: counters are summed over shards, and this is one number per lake.
                    log.info("time gate: mined %d post-cutoff n-gram(s); lake classifier %s", len(learned.mined),
                             "trained" if learned.classifier is not None else "not used")  # fmt: skip
                    for note in learned.notes:
                        log.info("time gate: %s", note)
                self._learned = _LEARNED_CACHE[key]
        return self._learned

    def _quiet_day(self, doc: Document) -> date | None:
        value = meta_value(doc.meta, self.cfg.date_field)
        try:
            return latest_day(value) if value is not _MISSING and value not in (None, "") else None
        except ValueError:
            return None
