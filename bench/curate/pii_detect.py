"""Part 3: PII detection, steep's `find_pii` vs Presidio's pattern recognizers, per type, on the lake's labels.

    texts, gold = labeled_pii(lake)     # clean_text where the lake has it, and every labeled value's spans
    results = compare_pii(texts, gold)  # [PiiResult(name, chars_per_cpu_s, {type: (tp, fp, fn)})]

Presidio without a spaCy model: the six predefined recognizers for our types are built directly (Email, Phone
(the `phonenumbers` library, default regions), CreditCard, Iban, UsSsn, Ip) and run as AnalyzerEngine runs
them: every recognizer over the text, then `EntityRecognizer.remove_duplicates`, score threshold 0 (the engine's
default). What is left out is the engine's context enhancement, which needs NLP artifacts (a spaCy model).
`tldextract` (used by the email recognizer) is pointed at its bundled suffix list, so it never fetches one.

Texts: the undamaged `clean_text` where the lake has one, so detection is measured apart from OCR repair.
Gold: each labeled value at every place it occurs. The demo's `name_account` values span the holder's name and
the number; steep calls the number `account` and Presidio has no such type. A predicted span is a true positive
when it overlaps a gold span of the same type; each gold span counts once.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field

from chains import Timer
from lake import Lake

TYPES = ("email", "phone", "card", "iban", "ssn", "ip", "account")
_LABEL_TO_TYPE = {"name_account": "account"}
_PRESIDIO_TO_TYPE = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "card",
    "IBAN_CODE": "iban",
    "US_SSN": "ssn",
    "IP_ADDRESS": "ip",
}

Span = tuple[int, int, str]  # start, end, type


@dataclass
class PiiResult:
    name: str
    cpu_s: float
    wall_s: float
    chars: int
    counts: dict[str, list[int]] = field(default_factory=dict)  # type -> [tp, fp, fn]

    @property
    def chars_per_cpu_s(self) -> float:
        return self.chars / self.cpu_s if self.cpu_s else float("nan")

    def precision(self, kind: str) -> float | None:
        tp, fp, _ = self.counts.get(kind, [0, 0, 0])
        return tp / (tp + fp) if tp + fp else None

    def recall(self, kind: str) -> float | None:
        tp, _, fn = self.counts.get(kind, [0, 0, 0])
        return tp / (tp + fn) if tp + fn else None


def labeled_pii(lake: Lake) -> tuple[list[str], list[list[Span]]]:
    texts, gold = [], []
    for row in lake.rows:
        lab = lake.labels[row["id"]]
        text = lab["clean_text"] or row["text"]
        spans: list[Span] = []
        for pii in lab["pii"]:
            kind, value = _LABEL_TO_TYPE.get(pii["type"], pii["type"]), pii["value"]
            start = text.find(value)
            while start != -1:
                spans.append((start, start + len(value), kind))
                start = text.find(value, start + 1)
        texts.append(text)
        gold.append(spans)
    return texts, gold


def tally(predicted: list[list[Span]], gold: list[list[Span]], types: tuple[str, ...]) -> dict[str, list[int]]:
    """{type: [tp, fp, fn]}; gold spans of a type the detector does not have are left out, not counted missed."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for pred_spans, all_gold in zip(predicted, gold, strict=True):
        gold_spans = [g for g in all_gold if g[2] in types]
        found = set()
        for start, end, kind in pred_spans:
            hit = [g for g in gold_spans if g[2] == kind and start < g[1] and g[0] < end]
            counts[kind][0 if hit else 1] += 1
            found.update(hit)
        for g in gold_spans:
            if g not in found:
                counts[g[2]][2] += 1
    return dict(counts)


def run_steep(texts: list[str]) -> tuple[list[list[Span]], Timer]:
    from steep.curate.pii import find_pii

    with Timer() as t:
        spans = [[(s.start, s.end, s.type) for s in find_pii(text)] for text in texts]
    return spans, t


def presidio_recognizers() -> list:
    # Before presidio imports tldextract: no suffix-list URL, so the bundled snapshot is used, offline.
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None)
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    return [
        EmailRecognizer(),
        PhoneRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        UsSsnRecognizer(),
        IpRecognizer(),
    ]


def run_presidio(texts: list[str]) -> tuple[list[list[Span]], Timer]:
    from presidio_analyzer import EntityRecognizer

    with Timer() as t:
        recognizers = presidio_recognizers()
        spans = []
        for text in texts:
            results = []
            for rec in recognizers:
                results += rec.analyze(text, rec.supported_entities, None)
            results = EntityRecognizer.remove_duplicates(results)
            spans.append(
                [
                    (r.start, r.end, _PRESIDIO_TO_TYPE[r.entity_type])
                    for r in results
                    if r.entity_type in _PRESIDIO_TO_TYPE
                ]
            )
    return spans, t


def compare_pii(texts: list[str], gold: list[list[Span]]) -> list[PiiResult]:
    chars = sum(map(len, texts))
    results = []
    presidio_types = tuple(_PRESIDIO_TO_TYPE.values())
    for name, runner, types in (
        ("steep find_pii", run_steep, TYPES),
        ("Presidio pattern recognizers", run_presidio, presidio_types),
    ):
        spans, t = runner(texts)
        results.append(PiiResult(name, t.cpu_s, t.wall_s, chars, tally(spans, gold, types)))
    return results
