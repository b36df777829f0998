"""`pii.engine: presidio`: Presidio's AnalyzerEngine with pattern recognizers only, steep's extra recognizers
registered into it, and Presidio's AnonymizerEngine for the replacement. Offline: no NLP model, no network.

    from steep.curate.pii.presidio_engine import PresidioEngine
    engine = PresidioEngine(("email", "phone", "card", "name"))
    spans = engine.find("Mail jane@corp.com")                 # [PiiSpan('email', 5, 18, 'jane@corp.com')]
    engine.redact("Mail jane@corp.com", spans, lambda span: "<EMAIL>")

How it stays offline and model-free:
- NLP: Presidio's `NoOpNlpEngine` (empty artifacts, no spaCy model loaded or downloaded). Only recognizers
  that need no NLP artifacts are registered; context words are therefore not used for score boosting.
- Presidio's EmailRecognizer validates with `tldextract.extract`, whose default extractor fetches the public
  suffix list from the internet on first use. We subclass it to use `TLDExtract(suffix_list_urls=())`, which
  reads the snapshot bundled in the tldextract wheel and never opens a socket.

Recognizers: Presidio's EmailRecognizer, PhoneRecognizer (the `phonenumbers` library, regions US/UK/DE/FR/IN...),
CreditCardRecognizer, IbanRecognizer, IpRecognizer, UsSsnRecognizer, UNITED with all of steep's (and the
operator's custom types): Presidio's hits enter `find_pii` as extra candidates, so the result is a superset of
what steep alone finds, minus Presidio hits our precision rules refuse (`detect.plausible`: a phone right after
an id word, a number glued to an id prefix). Overlaps resolve by steep's type priority, then length.
`union=False` keeps Presidio alone for the six types it has (a baseline for benchmarks).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence

from steep.curate.pii.custom import CustomRecognizer
from steep.curate.pii.detect import PRIORITY, RECOGNIZERS, PiiSpan, find_pii, plausible

# Presidio's NLP-engine modules import transformers (and through it torch) when installed, only to offer
# model-based engines we never use: 10+ s of import. Hide them while Presidio loads (only if nobody imported
# them yet), so they fall back to "not installed"; the rest of the process can still import them.
_HIDDEN = [m for m in ("torch", "transformers") if m not in sys.modules]
sys.modules.update(dict.fromkeys(_HIDDEN))
try:
    import tldextract
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig
except ImportError as err:  # pragma: no cover - config validation reports this first
    raise ImportError(f"pii.engine: presidio needs Presidio: pip install 'steep[presidio]' ({err})") from None
finally:
    for _name in _HIDDEN:
        sys.modules.pop(_name, None)

# Presidio entity <-> steep type.
PRESIDIO_ENTITY = {
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "ssn": "US_SSN",
    "ip": "IP_ADDRESS",
    "account": "ACCOUNT_NUMBER",
    "name": "PERSON",
    "secret": "SECRET",
    "url_credentials": "URL_CREDENTIALS",
}
STEEP_TYPE = {entity: kind for kind, entity in PRESIDIO_ENTITY.items()}
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer with a tldextract that reads only its bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLD(pattern_text).fqdn != ""


class SteepRecognizer(EntityRecognizer):
    """One steep recognizer (regex + validation, or the NER model's names) as a Presidio recognizer; score 0.9."""

    def __init__(self, kind: str, find: Callable[[str], Iterable[tuple[int, int]]] | None = None) -> None:
        self.kind = kind
        self.find = find or RECOGNIZERS[kind]
        super().__init__(supported_entities=[PRESIDIO_ENTITY[kind]], name=f"steep_{kind}", supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text, entities, nlp_artifacts=None):
        return [RecognizerResult(PRESIDIO_ENTITY[self.kind], s, e, 0.9) for s, e in self.find(text)]


PRESIDIO_RECOGNIZERS: dict[str, Callable[[], EntityRecognizer]] = {
    "email": OfflineEmailRecognizer,
    "phone": PhoneRecognizer,
    "card": CreditCardRecognizer,
    "iban": IbanRecognizer,
    "ip": IpRecognizer,
    "ssn": UsSsnRecognizer,
}


class PresidioEngine:
    """`union=True` (the `engine: presidio` config): Presidio's hits are added to steep's, as extra candidates of
    `find_pii`; `union=False`: Presidio's recognizers alone for the types it has, ours for the rest (a baseline)."""

    def __init__(
        self,
        types: Sequence[str],
        score_threshold: float = 0.3,
        ner: Callable[[str], list[tuple[int, int]]] | None = None,
        custom: Sequence[CustomRecognizer] = (),
        union: bool = True,
    ) -> None:
        self.types = tuple(types)
        self.score_threshold = score_threshold
        self.union = union
        self.ner = ner if "name" in self.types else None
        self.custom = tuple(custom)
        if union:  # ours run in `find_pii`; Presidio only contributes the types it has recognizers for
            recognizers = [PRESIDIO_RECOGNIZERS[kind]() for kind in self.types if kind in PRESIDIO_RECOGNIZERS]
        else:
            recognizers = [PRESIDIO_RECOGNIZERS.get(kind, lambda k=kind: SteepRecognizer(k))() for kind in self.types]
            if self.ner is not None:
                recognizers.append(SteepRecognizer("name", self.ner))
        self.entities = sorted({r.supported_entities[0] for r in recognizers})
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
        nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
        nlp.load()
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
        self.anonymizer = AnonymizerEngine()

    def _presidio_results(self, text: str) -> list[RecognizerResult]:
        if not self.entities:
            return []
        return self.analyzer.analyze(text, language="en", entities=self.entities, score_threshold=self.score_threshold)

    def find(self, text: str) -> list[PiiSpan]:
        results = self._presidio_results(text)
        if self.union:
            # Presidio's hits join ours as candidates: same overlap rules, same decoy blocking (a Luhn-failing
            # card layout, a bad IBAN), and phones must pass our context check (`phonenumbers` reads
            # "Order No. 415-555-0132" as a number).
            extra = [(STEEP_TYPE[r.entity_type], r.start, r.end) for r in results]
            extra = [hit for hit in extra if plausible(text, *hit)]
            if self.ner is not None:
                extra += [("name", s, e) for s, e in self.ner(text)]
            return find_pii(text, self.types, extra, self.custom)
        ranked = sorted(
            results, key=lambda r: (-r.score, -(r.end - r.start), PRIORITY.index(STEEP_TYPE[r.entity_type]))
        )
        chosen: list[RecognizerResult] = []
        for r in ranked:
            if all(r.end <= c.start or r.start >= c.end for c in chosen):
                chosen.append(r)
        return [
            PiiSpan(STEEP_TYPE[r.entity_type], r.start, r.end, text[r.start : r.end])
            for r in sorted(chosen, key=lambda r: r.start)
        ]

    __call__ = find

    def redact(self, text: str, spans: Sequence[PiiSpan], replacement: Callable[[PiiSpan], str]) -> str:
        """`text` with `spans` replaced through Presidio's AnonymizerEngine (one custom operator per type)."""
        if not spans:
            return text
        # Custom types have no Presidio entity: their own name (upper-cased) stands in.
        entity = lambda kind: PRESIDIO_ENTITY.get(kind, kind.upper())  # noqa: E731
        results = [RecognizerResult(entity(s.type), s.start, s.end, 1.0) for s in spans]
        operators = {
            entity(kind): OperatorConfig(
                "custom", {"lambda": lambda value, k=kind: replacement(PiiSpan(k, 0, len(value), value))}
            )
            for kind in {s.type for s in spans}
        }
        return self.anonymizer.anonymize(text=text, analyzer_results=results, operators=operators).text
