"""PII redaction: regex recognizers with checksum/context validation, typed placeholders. Never drops.

    from steep.curate.pii import redact_pii
    redact_pii("Mail jane@corp.com or call +44 20 7946 0958 about ORD-2024-118834.")
    # ('Mail <EMAIL> or call <PHONE> about ORD-2024-118834.', Counter({'email': 1, 'phone': 1}))

Types and how a candidate is confirmed (a regex hit alone is not enough where a checksum exists):

| type    | shape                                                   | confirmed by                                   |
| email   | local@domain.tld                                        | shape                                          |
| card    | 13-19 digits, spaces/dashes allowed                     | Luhn; not all one digit                        |
| iban    | CC00 + up to 30 alphanumerics, spaced in fours or not   | length for the country, ISO 7064 mod-97 == 1   |
| ssn     | ddd-dd-dddd                                             | area not 000/666/9xx, group 00, serial 0000   |
| ip      | IPv4 dotted quad                                        | each octet 0-255, no leading zeros             |
| phone   | +CC international; US (NXX) NXX-XXXX; national 0-trunk  | digit count; not a date; not after an id word  |
|         | (UK/DE/...) with separators; bare digits after "tel:"   | (order, invoice, case, policy ...) or currency |
| account | digits after account / acct / a/c / konto (no.)         | 6-20 digits                                    |
|         | 8-18 digits right after a capitalised name              | name words not in a stoplist; not a YYYYMMDD   |

Overlapping hits resolve by type priority (email > iban > card > ssn > ip > phone > account), then length.
Ids glued to a prefix (`ORD-2024-118834`, `CASE-48213`, `POL-1042`, `INV-...`) never match: every
numeric recognizer refuses a hit that continues a word or a dash.

This is the pattern layer; Presidio recognizers (and NER when the operator supplies a local model) plug
in beside it later with the same output: a list of `PiiSpan`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date

from steep.curate.block import Block, DropSink
from steep.curate.config import ALL_PII_TYPES, PiiConfig
from steep.curate.document import Document, Drop

PLACEHOLDERS: dict[str, str] = {t: f"<{t.upper()}>" for t in ALL_PII_TYPES}
PRIORITY = ("email", "iban", "card", "ssn", "ip", "phone", "account")


@dataclass(frozen=True)
class PiiSpan:
    type: str
    start: int
    end: int
    text: str


# ---------------------------------------------------------------------------------------------- checksums


def luhn_valid(digits: str) -> bool:
    """Luhn mod-10: double every second digit from the right, sum the digits, total % 10 == 0."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# ISO 13616 registry: IBAN length per country.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_valid(iban: str) -> bool:
    """ISO 7064 mod 97-10: move the first four characters to the end, letters -> 10..35, value % 97 == 1."""
    iban = iban.replace(" ", "").upper()
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    if not (15 <= len(iban) <= 34 and iban.isalnum() and iban[:2].isalpha() and iban[2:4].isdigit()):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def ssn_valid(area: str, group: str, serial: str) -> bool:
    return area != "000" and area != "666" and not area.startswith("9") and group != "00" and serial != "0000"


# ---------------------------------------------------------------------------------------------- patterns

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])"
)
# Numeric recognizers refuse to start right after a word character, '+', '-', '.', ',', '/' or '#'
# (that is how ORD-2024-118834 and 3.14159 stay out) and to stop right before one that continues them.
_NUM_START = r"(?<![\w+\-.,/#])"
_NUM_END = r"(?![\w\-]|[.,/]\d)"
_CARD = re.compile(_NUM_START + r"\d(?:[ \-]?\d){12,18}" + _NUM_END)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_SSN = re.compile(_NUM_START + r"(\d{3})-(\d{2})-(\d{4})" + _NUM_END)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)")
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ ]?\(0\))?(?:[ .\-/]?\(?\d{1,6}\)?){1,6}(?!\w|[.,]\d)")
_PHONE_US = re.compile(_NUM_START + r"(?:1[ .\-])?(?:\((\d{3})\)[ ]?|(\d{3})[ .\-])(\d{3})[ .\-]\d{4}" + _NUM_END)
# National numbers with a 0 trunk prefix and separators: UK 020 7946 0958, 07700 900123; DE 030 1234567,
# (089) 123456, 0171/1234567; FR 01 23 45 67 89.
_PHONE_NATIONAL = re.compile(r"(?<![\w+\-./#,])(?:\(0\d{1,4}\)|0\d{1,4})(?:[ \-/]\d{2,8}){1,4}" + _NUM_END)
_PHONE_WORDS = r"tel|telephone|phone|ph|mobile|mob|cell|cellphone|fax|call|whatsapp|sms|telefon|handy|mobil|rufnummer"
# Bare digits are a phone only when a phone word stands right before them ("Tel: 0301234567").
_PHONE_AFTER_WORD = re.compile(
    rf"(?i:\b(?:{_PHONE_WORDS})\b)\.?[ \t]*(?i:no\.?|number|nr\.?|#)?[ \t]*[:\-]?[ \t]*"
    r"(\+?\d[\d ()./\-]{5,18}\d)" + _NUM_END
)
_PHONE_WORD_BEFORE = re.compile(rf"(?i)\b(?:{_PHONE_WORDS})\b[^\n]{{0,20}}$")
_ID_WORD_BEFORE = re.compile(
    r"(?i)(?:\b(?:order|ord|invoice|inv|case|ticket|tkt|policy|pol|claim|ref|reference|tracking|shipment|"
    r"sku|serial|po|contract|customer|cust|account|acct|member|id|no|nr|number|booking|reservation|"
    r"transaction|txn|receipt)\b\.?[ \t]*(?:no\.?|nr\.?|number|id|#)?[ \t]*[:#]?[ \t]*|#[ \t]*)$"
)
_CURRENCY_BEFORE = re.compile(r"(?i)(?:[$€£¥₹]|\b(?:usd|eur|gbp|chf|jpy|cad|aud))[ \t]*$")
_DATE_SHAPE = re.compile(r"^\(?\d{1,4}\)?[ ./\-]\d{1,2}[ ./\-]\d{1,4}$")
_ACCOUNT_AFTER_WORD = re.compile(
    r"(?i:\b(?:account|acct|acc|a/c|konto|kontonummer|kto)\b)\.?[ \t]*(?i:no\.?|number|num|nr\.?|#|id)?"
    r"[ \t]*[:#=]?[ \t]*((?:[A-Z]{1,4}[ \-]?)?\d[\d \-]{4,28}\d)" + _NUM_END
)
_NAME_THEN_NUMBER = re.compile(
    r"\b([A-Z][a-z]+(?:[ '\-][A-Z][a-z]+){1,2}),?[ \t]*(?:[:\-–][ \t]*)?(\d[\d \-]{6,24}\d)" + _NUM_END
)
# Capitalised words that start a "Name 12345678" hit but are not names.
_NOT_NAME_WORDS = frozenset(
    """the this that these those a an our your their my his her its we you they it dear hello hi thanks thank
    please order orders invoice case policy ticket claim ref reference number no account acct phone tel fax
    mobile call page section chapter table figure item items total amount balance payment room suite floor
    street road avenue lane building unit box code zip postcode serial model part product tracking shipment
    customer client member employee id version year date batch lot sku store branch route flight train monday
    tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december""".split()  # noqa: SIM905
)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _group_prefixes(text: str, start: int, end: int) -> Iterator[int]:
    """End offsets of `text[start:end]` cut after each digit group, longest first (for retrying a hit
    whose greedy match swallowed a following number)."""
    ends = [start + m.end() for m in re.finditer(r"\d+", text[start:end])]
    yield from reversed(ends)


def _looks_like_yyyymmdd(digits: str) -> bool:
    if len(digits) != 8 or digits[:2] not in ("19", "20"):
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- recognizers

Recognizer = Callable[[str], Iterator[tuple[int, int]]]


def _find_email(text: str) -> Iterator[tuple[int, int]]:
    for m in _EMAIL.finditer(text):
        yield m.span()


def _find_card(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        for end in _group_prefixes(text, m.start(), m.end()):
            digits = _digits(text[m.start() : end])
            if len(digits) < 13:
                break
            if len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits):
                yield m.start(), end
                break


def _find_iban(text: str) -> Iterator[tuple[int, int]]:
    for m in _IBAN.finditer(text):
        start, candidate = m.start(), m.group(0)
        expected = IBAN_LENGTHS.get(candidate[:2])
        if expected is None:
            if iban_valid(candidate):
                yield m.span()
            continue
        # Cut the hit at the country's length: "DE89 3704 0044 0532 0130 00 EUR" -> the 22 characters.
        count = 0
        for offset, ch in enumerate(candidate):
            if ch != " ":
                count += 1
            if count == expected:
                end = start + offset + 1
                glued = end < len(text) and text[end].isalnum()
                if not glued and iban_valid(text[start:end]):
                    yield start, end
                break


def _invalid_iban_shapes(text: str) -> Iterator[tuple[int, int]]:
    valid = list(_find_iban(text))
    for m in _IBAN.finditer(text):
        if not any(s < m.end() and m.start() < e for s, e in valid):
            yield m.span()


def _find_ssn(text: str) -> Iterator[tuple[int, int]]:
    for m in _SSN.finditer(text):
        if ssn_valid(*m.groups()):
            yield m.span()


def _find_ip(text: str) -> Iterator[tuple[int, int]]:
    for m in _IPV4.finditer(text):
        yield m.span()


def _phone_context_ok(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 40) : start]
    if _PHONE_WORD_BEFORE.search(before):
        return True
    return not (_ID_WORD_BEFORE.search(before) or _CURRENCY_BEFORE.search(before))


def _find_phone(text: str) -> Iterator[tuple[int, int]]:
    for m in _PHONE_INTL.finditer(text):
        if not _phone_context_ok(text, m.start()):
            continue
        for end in _group_prefixes(text, m.start(), m.end()):
            candidate = text[m.start() : end].replace("(0)", "")
            n = len(_digits(candidate))
            if n < 8:
                break
            if n <= 15 and candidate.count("(") == candidate.count(")"):
                yield m.start(), end
                break
    for m in _PHONE_US.finditer(text):
        area = m.group(1) or m.group(2)
        if area[0] in "01" or m.group(3)[0] in "01":  # NANP: area code and exchange start with 2-9
            continue
        if _phone_context_ok(text, m.start()):
            yield m.span()
    for m in _PHONE_NATIONAL.finditer(text):
        n = len(_digits(m.group(0)))
        if 9 <= n <= 12 and not _DATE_SHAPE.match(m.group(0)) and _phone_context_ok(text, m.start()):
            yield m.span()
    for m in _PHONE_AFTER_WORD.finditer(text):
        candidate = m.group(1)
        n = len(_digits(candidate))
        if 7 <= n <= 15 and not _DATE_SHAPE.match(candidate):
            yield m.span(1)


def _find_account(text: str) -> Iterator[tuple[int, int]]:
    for m in _ACCOUNT_AFTER_WORD.finditer(text):
        if 6 <= len(_digits(m.group(1))) <= 20:
            yield m.span(1)
    for m in _NAME_THEN_NUMBER.finditer(text):
        name_words = re.split(r"[ '\-]", m.group(1))
        digits = _digits(m.group(2))
        if (
            8 <= len(digits) <= 18
            and not any(w.casefold() in _NOT_NAME_WORDS for w in name_words)
            and not _looks_like_yyyymmdd(digits)
        ):
            yield m.span(2)


RECOGNIZERS: dict[str, Recognizer] = {
    "email": _find_email,
    "card": _find_card,
    "iban": _find_iban,
    "ssn": _find_ssn,
    "ip": _find_ip,
    "phone": _find_phone,
    "account": _find_account,
}


# ---------------------------------------------------------------------------------------------- public API


def find_pii(text: str, types: Sequence[str] = ALL_PII_TYPES) -> list[PiiSpan]:
    """Non-overlapping PII spans in `text`, sorted by position."""
    candidates = [
        (PRIORITY.index(kind), -(end - start), start, end, kind)
        for kind in types
        for start, end in RECOGNIZERS[kind](text)
    ]
    # An IBAN-shaped string whose checksum fails is not PII, and its digits are not a card or phone either
    # (its 18 BBAN digits pass Luhn one time in ten): it blocks every other hit it overlaps.
    chosen: list[tuple[int, int, str]] = [(s, e, "") for s, e in _invalid_iban_shapes(text)]
    for _, _, start, end, kind in sorted(candidates):
        if all(end <= s or start >= e for s, e, _ in chosen):
            chosen.append((start, end, kind))
    return [PiiSpan(kind, s, e, text[s:e]) for s, e, kind in sorted(chosen) if kind]


def redact_pii(text: str, types: Sequence[str] = ALL_PII_TYPES) -> tuple[str, Counter[str]]:
    """`text` with every PII span replaced by its placeholder, and the count per type."""
    spans = find_pii(text, types)
    counts: Counter[str] = Counter(span.type for span in spans)
    for span in reversed(spans):
        text = text[: span.start] + PLACEHOLDERS[span.type] + text[span.end :]
    return text, counts


class PiiRedactor(Block):
    """Block: redacts PII in place; the per-type counts go to `stats.counters` and `meta.pii_redacted`."""

    name = "pii"

    def __init__(self, cfg: PiiConfig | None = None, on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.cfg = cfg or PiiConfig()
        self.types = tuple(self.cfg.types)

    def redact(self, text: str) -> str:
        return redact_pii(text, self.types)[0]

    def apply(self, doc: Document) -> Document | Drop:
        redacted, counts = redact_pii(doc.text, self.types)
        if not counts:
            return doc
        self.stats.counters.update(counts)
        self.stats.counters["docs_redacted"] += 1
        return replace(doc, text=redacted, meta={**doc.meta, "pii_redacted": dict(sorted(counts.items()))})
