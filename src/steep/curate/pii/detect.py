"""The steep PII detector: one recognizer per type (regex + checksum/context validation), overlaps resolved by
type priority. `find_pii` is the whole public surface; `redact` turns its spans into placeholders or pseudonyms.

    from steep.curate.pii.detect import find_pii
    find_pii("Mail jane@corp.com or call +44 20 7946 0958 about ORD-2024-118834.")
    # [PiiSpan(type='email', ...), PiiSpan(type='phone', ...)]

Types and how a candidate is confirmed (a regex hit alone is not enough where a checksum exists):

| type            | shape                                                  | confirmed by                                  |
| email           | local@domain.tld                                       | shape                                         |
| url_credentials | scheme://USER:PASS@host                                | a password is present (the user:pass part)    |
| iban            | CC00 + up to 30 alphanumerics, spaced in fours or not, | length for the country, ISO 7064 mod-97 == 1  |
|                 | either case (`de89 3704 ...`)                          |                                               |
| card            | 13-19 digits, spaces/dashes allowed                    | scheme prefix + length (Visa, Mastercard incl.|
|                 |                                                        | 2-series, Amex, Discover, JCB, Diners,        |
|                 |                                                        | UnionPay, Maestro), Luhn, not one digit       |
|                 | 12-19 digits within 60 chars after a card word (card,  | Luhn only: 12-digit Maestro, 15-digit JCB,    |
|                 | Visa, Maestro, CC, Kartennummer ...)                   | domestic schemes; never after an id word      |
| ssn             | ddd-dd-dddd                                            | area not 000/666/9xx, group 00, serial 0000  |
| ip              | IPv4 dotted quad; IPv6 (full or :: compressed)         | octets 0-255; `ipaddress` parses the v6 form, |
|                 |                                                        | it has a digit and >= 3 groups (not `a::b`)   |
| secret          | known API key formats, PEM private keys, password=...  | see `steep.curate.pii.secrets`                |
|                 | assignments, high-entropy tokens                       |                                               |
| phone           | +CC international (E.164 with separators); US (NXX)    | digit count; not a date; not after an id word |
|                 | NXX-XXXX; national 0-trunk (UK/DE/FR/JP...); bare      | (order, invoice, case, policy, code ...) or a |
|                 | digits after "tel:"; any layout within 60 chars after  | currency; after a phone word (not a label):   |
|                 | a phone word or verb (call, reach, desk, fax ...), 5+  | not a quantity (`2 059 189`, `... units`)     |
|                 | digits right after a label (`Desk:`, `T:`); plus its   |                                               |
|                 | extension (`x4587`, `ext. 204`)                        |                                               |
| account         | digits after account / acct / a/c / konto (no.)        | 6-20 digits                                   |
|                 | 8-18 digits right after a capitalised name             | name words not in a stoplist; not a YYYYMMDD  |
| name            | a capitalised 2-3 word name after "Account holder:",   | name words not in a stoplist                  |
|                 | "Customer name:", "Cardholder:"..., or right before    |                                               |
|                 | an account number ("Jane Doe, account no. 1234567")    |                                               |

Overlapping hits resolve by type priority (PRIORITY; the operator's `pii.custom` types rank right before phone),
then length. Ids glued to a prefix (`ORD-2024-118834`,
`CASE-48213`, `POL-1042`, `INV-...`) never match: every numeric recognizer refuses a hit that continues a word or a
dash. Names are found only beside account context; free-text names need NER: `pii.ner_model`, a local model
(`steep.curate.pii.ner`), whose hits are passed in as `extra`.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from steep.curate.config import ALL_PII_TYPES
from steep.curate.pii.checksums import IBAN_LENGTHS, card_valid, iban_valid, luhn_valid, ssn_valid
from steep.curate.pii.keywords import after_word, lowercase
from steep.curate.pii.secrets import find_secrets, find_url_credentials

PRIORITY = ("url_credentials", "email", "iban", "card", "ssn", "ip", "secret", "phone", "account", "name")


@dataclass(frozen=True)
class PiiSpan:
    type: str
    start: int
    end: int
    text: str


# ---------------------------------------------------------------------------------------------- patterns

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])"
)
# Numeric recognizers refuse to start right after a word character, '+', '-', '.', ',', '/' or '#'
# (that is how ORD-2024-118834 and 3.14159 stay out) and to stop right before one that continues them.
_NUM_START = r"(?<![\w+\-.,/#])"
# Speed: a pattern that starts with a lookbehind makes `re` try it at every position; one that starts with a
# character class lets it skip ahead to the next digit. So the numeric patterns below start with their first
# character, and `_unglued` applies the `_NUM_START` rule to each hit in Python (about 2x faster on prose).
_GLUE = frozenset("_+-.,/#")
_NUM_END = r"(?![\w\-]|[.,/]\d)"
_CARD = re.compile(r"\d(?:[ \-]?\d){11,18}" + _NUM_END)
# A card word before the number ("Card number:", "Visa", "Maestro", "CC#") makes any Luhn-valid 12-19 digit run a
# card: issuers print numbers outside the published IIN tables (12-digit Maestro, 15-digit JCB 1800/2131,
# domestic schemes), and test generators do too. Without one, prefix + length must fit a known scheme.
_CARD_WORD_BEFORE = re.compile(
    r"(?i)\b(?:card|cards|credit|debit|visa|mastercard|master ?card|amex|american express|maestro|jcb|discover|"
    r"diners|unionpay|union ?pay|rupay|mir|cc|pan|carte|karte|kartennummer|kreditkarte|tarjeta|carta|cart[aã]o)"
    r"\b.{0,50}$",
    re.S,
)
# Letters in either case: IBANs are typed lowercase too ("de89 3704 ..."); mod-97 ignores case.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")
# A card's printed layout, one separator throughout. A Luhn-failing number in this layout is a decoy (a test
# number, a receipt reference): its groups must not read as a phone ("4078 0933 0209 2932" -> "0933 0209 2932").
_CARD_LAYOUT = re.compile(
    r"\d\d\d\d(?:([ \-])\d{4}\1\d{4}\1\d{3,7}(?:\1\d{1,3})?|([ \-])\d{6}\2\d{4,5}|\d{9,15})" + _NUM_END
)
_SSN = re.compile(r"(\d{3})-(\d{2})-(\d{4})" + _NUM_END)
# Spaced, dotted or run-together SSNs ("123 45 6789", "123456789") are read only after an SSN word: nine digits
# alone are as often a routing or order number.
_SSN_LOOSE = re.compile(r"(\d{3})([ .]?)(\d{2})\2(\d{4})" + _NUM_END)
_SSN_WORD_BEFORE = re.compile(r"(?i)\b(?:ssn|ss#|social security(?: number| no\.?| #)?|soc\.? ?sec\.?)\b[^\n]{0,25}$")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)")
# Full or `::`-compressed IPv6, optionally ending in a dotted quad; validated by `ipaddress` afterwards.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,7}|[0-9A-Fa-f]{1,4})"
    r"(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?![\w:]|\.\d)"
    r"|(?<![\w:.])::(?:[0-9A-Fa-f]{1,4}:){1,6}[0-9A-Fa-f]{1,4}(?![\w:]|\.\d)"
)
_IPV6_HINT = re.compile(r":[0-9A-Fa-f:]")
# An extension after a phone ("345-899-3560x4587", "ext. 204", ", x12") belongs to it: phone patterns may end
# right before one (a plain `_NUM_END` would refuse the glued "x"), and `_with_extension` takes it in.
_EXT = r"(?:,?[ ]?(?i:x|ext\.?|extn\.?|extension)[ ]?|[ ]?#[ ]?)\d{1,6}(?![\w\-])"
_EXT_AFTER = re.compile(_EXT)
_CC_BEFORE = re.compile(r"\(\+\d{1,3}\)[ ]?$")
_PHONE_END = rf"(?:(?={_EXT})|(?![\w\-]|[.,/]\d))"
_PHONE_INTL = re.compile(
    r"(?<![\w+])\+\d{1,3}(?:[ ]?\(0\))?(?:[ .\-/]?\(?\d{1,6}\)?){1,6}" + rf"(?:(?={_EXT})|(?!\w|[.,]\d))"
)
_PHONE_US = re.compile(r"(?:1[ .\-])?(?:\((\d{3})\)[ ]?|(\d{3})[ .\-])(\d{3})[ .\-]\d{4}" + _PHONE_END)
# National numbers with a 0 trunk prefix and separators: UK 020 7946 0958, 07700 900123; DE 030 1234567,
# (089) 123456, 0171/1234567; FR 01 23 45 67 89.
_PHONE_NATIONAL = re.compile(r"(?:\(0\d{1,4}\)|0\d{1,4})(?:[ \-/]\d{2,8}){1,4}" + _NUM_END)
_PHONE_WORDS = r"tel|telephone|phone|ph|mobile|mob|cell|cellphone|fax|call|whatsapp|sms|telefon|handy|mobil|rufnummer"
# Bare digits are a phone only when a phone word stands right before them ("Tel: 0301234567").
# Keyword-then-value patterns come in two parts: the keyword, found on the lowercased text by a case-sensitive
# literal alternation (4x faster than scanning with `(?i)`), then the value matched at the keyword's end.
_PHONE_WORD_LOWER = re.compile(rf"(?:{_PHONE_WORDS})\b")
_PHONE_AFTER_WORD = re.compile(
    r"\.?[ \t]*(?i:no\.?|number|nr\.?|#)?[ \t]*[:\-]?[ \t]*(\+?\d[\d ()./\-]{5,18}\d)" + _NUM_END
)
_PHONE_WORD_BEFORE = re.compile(rf"(?i)\b(?:{_PHONE_WORDS})\b[^\n]{{0,20}}$")
# Context for a phone in any layout (national, local, bare digits, 00-prefixed): a phone word or verb within
# 40 characters before it on its line ("You can reach our billing team on 03591000135"), or a contact-card
# label right before it ("Desk: 5403926876", "T: 7212 0928", "Phone (work): ...").
_PHONE_CONTEXT_WORDS = (
    _PHONE_WORDS + r"|telephon|téléphone|tél|teléfono|telefono|desk|office|direct|switchboard|landline|hotline"
    r"|helpline|reach|ring|dial|contact|voicemail|text me|my number|our number|his number|her number"
)
_PHONE_CONTEXT_BEFORE = re.compile(rf"(?i)\b(?:{_PHONE_CONTEXT_WORDS})\b\.?[^\n]{{0,40}}$")
_PHONE_WORD_RIGHT_BEFORE = re.compile(rf"(?i)\b(?:{_PHONE_CONTEXT_WORDS})\b\.?[ \t]*(?:\([a-z ]+\))?[ \t]*$")
_PHONE_LABEL_BEFORE = re.compile(
    rf"(?i)(?:^|(?<=[\s|,;/(]))(?:(?:{_PHONE_CONTEXT_WORDS}|work|home|main|line|[tmpfdowhc])\.?"
    r"(?:[ \t]*\([a-z ]+\))?|(?:phone|contact|tel) (?:number|no\.?))[ \t]*:[ \t]*$"
)
# A phone-shaped run: digits with the separators phones are printed with, optionally + or ( first.
_PHONE_RUN = re.compile(r"\(?\+?\d[\d ()./\-]{3,22}\d" + _PHONE_END)
# Dates as phone-context runs can hold them: d/m/y or y-m-d with one separator ("424 04 26" is no date).
_DATE_STRICT = re.compile(r"^(?:\d{1,2}([./\- ])\d{1,2}\1(?:\d{2}|\d{4})|\d{4}([./\- ])\d{1,2}\2\d{1,2})$")
# Near a phone word but not a phone: a quantity ("Call volume rose to 2 059 189", "Mobile sales: 38.619.407
# units"): thousands groups of three, or a count followed by its unit.
# (3-3-3 with spaces or dots stays a phone: "669 561 313" is how Poland, Portugal and Spain print mobiles.)
_THOUSANDS_SHAPE = re.compile(r"^(?:[1-9]\d?(?:([ ,.])\d{3})(?:\1\d{3})*|[1-9]\d\d(?:,\d{3})+)$")
_UNIT_AFTER = re.compile(
    r"(?i)[ \t]*(?:units?|calls?|minutes?|mins?|hours?|seconds?|customers?|users?|people|subscribers?|devices?"
    r"|handsets?|phones?|orders?|items?|pieces?|pcs|times|lines|messages|texts|downloads|visits|yen|eur|usd|gbp"
    r"|dollars?|euros?|pounds?|percent|%)(?!\w)"
)
_TIME_SHAPE = re.compile(r"^\d{1,2}[.:]\d{2}(?:[ \-]+\d{1,2}[.:]\d{2})?$")
_ID_WORDS = (
    "order", "ord", "invoice", "inv", "case", "ticket", "tkt", "policy", "pol", "claim", "ref", "reference",
    "tracking", "shipment", "sku", "serial", "po", "contract", "customer", "cust", "account", "acct", "member",
    "id", "no", "nr", "number", "booking", "reservation", "transaction", "txn", "receipt", "code", "product",
    "item", "part", "model", "version", "ver",
)  # fmt: skip


def _typo_variants(words: tuple[str, ...]) -> list[str]:
    """Each word plus its adjacent-letter transpositions (code -> cdoe, ocde, coed) and, for OCR, d read as cl:
    an id word with a typo still makes the number after it an id, not a phone."""
    out = set(words)
    for w in words:
        if len(w) >= 4:
            out.update(w[:i] + w[i + 1] + w[i] + w[i + 2 :] for i in range(len(w) - 1))
        out.add(w.replace("d", "cl"))
    return sorted(out, key=len, reverse=True)


# "area code 415 555 0132" is a phone, so `code` right after "area" does not count.
_ID_WORD_BEFORE = re.compile(
    rf"(?i)(?:\b(?<!area )(?:{'|'.join(_typo_variants(_ID_WORDS))})\b\.?[ \t]*(?:no\.?|nr\.?|number|id|#)?[ \t]*[:#]?[ \t]*"
    r"|#[ \t]*)$"
)
_CURRENCY_BEFORE = re.compile(r"(?i)(?:[$€£¥₹]|\b(?:usd|eur|gbp|chf|jpy|cad|aud))[ \t]*$")
_DATE_SHAPE = re.compile(r"^\(?\d{1,4}\)?[ ./\-]\d{1,2}[ ./\-]\d{1,4}$")
_ACCOUNT_WORD = re.compile(r"(?:account|acct|acc|a/c|konto|kontonummer|kto)\b")
_ACCOUNT_AFTER_WORD = re.compile(
    r"\.?[ \t]*(?i:no\.?|number|num|nr\.?|#|id)?[ \t]*[:#=]?[ \t]*((?:[A-Z]{1,4}[ \-]?)?\d[\d \-]{4,28}\d)" + _NUM_END
)
# No leading \b (it would stop `re` from skipping to capital letters): the boundary is checked on each hit.
_NAME_THEN_NUMBER = re.compile(
    r"([A-Z][a-z]+(?:[ '\-][A-Z][a-z]+){1,2}),?[ \t]*(?:[:\-–][ \t]*)?(\d[\d \-]{6,24}\d)" + _NUM_END
)
# A capitalised word of a name (Unicode Latin letters: Müller, Łukasz is not covered by `re` classes, so the
# Latin-1 and Latin Extended-A ranges are spelled out), 2-3 words, apostrophes and hyphens inside (O'Brien).
_NAME_WORD = r"(?:[A-Z\u00c0-\u00de\u0100-\u017f][a-z\u00df-\u00ff\u0100-\u017f]+(?:['\-][A-Z][a-z]+)?)"
_NAME = rf"({_NAME_WORD}(?:[ ]{_NAME_WORD}){{1,2}})"
# Labels and account words are found on the lowercased text (a case-sensitive literal alternation is far faster
# than `(?i)`), the name itself on the original text right after / right before them.
_NAME_LABEL_LOWER = re.compile(
    r"(?:account holder|account name|customer name|client name|cardholder|card holder"
    r"|name on (?:the )?(?:card|account)|beneficiary|payee|policyholder|policy holder)(?:'s name)?[ \t]*[:\-–][ \t]*"
)
_ACCOUNT_WORD_LOWER = re.compile(
    r"(?:account|acct|a/c|customer (?:no|number|id))\b\.?[ \t]*(?:no\.?|number|num|nr\.?|#|id)?[ \t]*[:#=]?[ \t]*\d"
)
_NAME_AT = re.compile(_NAME + r"\b")
_NAME_BEFORE = re.compile(r"\b" + _NAME + r"(?:,[ \t]*|[ \t]*\([ \t]*|[ \t]+)$")
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


def _unglued(pattern: re.Pattern[str], text: str, pos: int = 0) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)` (from `pos`) with the `_NUM_START` rule: a hit right after a word character or one
    of `_GLUE` is refused and the search goes on from its next character (as the lookbehind would)."""
    while (m := pattern.search(text, pos)) is not None:
        start = m.start()
        if start and ((c := text[start - 1]).isalnum() or c in _GLUE):
            pos = start + 1
            continue
        yield m
        pos = max(m.end(), start + 1)


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


def _card_context(text: str, start: int) -> bool | None:
    """True after a card word, False after an id word (order, invoice, tracking ...), None when neither."""
    # The card word may stand lines above the number, as on a card summary ("Maestro\nJ. Doe\n5897 ...");
    # an id word counts only on the number's own line.
    if _CARD_WORD_BEFORE.search(text, max(0, start - 60), start):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 40) : start]
    return False if _ID_WORD_BEFORE.search(before) else None


def _find_card(text: str) -> Iterator[tuple[int, int]]:
    for m in _unglued(_CARD, text):
        context = _card_context(text, m.start())
        if context is False:  # "Tracking number 4111 ..." is an id that happens to pass Luhn
            continue
        for end in _group_prefixes(text, m.start(), m.end()):
            digits = _digits(text[m.start() : end])
            if len(digits) < (12 if context else 13):
                break
            if len(digits) > 19:
                continue
            if card_valid(digits) or (context and len(set(digits)) > 1 and luhn_valid(digits)):
                yield m.start(), end
                break


@functools.lru_cache(maxsize=2)
def _iban_hits(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """(valid IBAN spans, IBAN-shaped spans that fail the check) in one pass; cached for `find_pii`, which needs
    both."""
    valid, invalid = [], []
    for m in _IBAN.finditer(text):
        start, candidate = m.start(), m.group(0)
        expected = IBAN_LENGTHS.get(candidate[:2].upper())
        hit = None
        if expected is None:
            hit = m.span() if iban_valid(candidate) else None
        else:
            # Cut the hit at the country's length: "DE89 3704 0044 0532 0130 00 EUR" -> the 22 characters.
            count = 0
            for offset, ch in enumerate(candidate):
                if ch != " ":
                    count += 1
                if count == expected:
                    end = start + offset + 1
                    glued = end < len(text) and text[end].isalnum()
                    if not glued and iban_valid(text[start:end]):
                        hit = (start, end)
                    break
        if hit:
            valid.append(hit)
        elif candidate[:2].isupper():  # a lowercase near-miss is more likely a word glued to a number than a decoy
            invalid.append(m.span())
    return tuple(valid), tuple(invalid)


def _find_iban(text: str) -> Iterator[tuple[int, int]]:
    yield from _iban_hits(text)[0]


def _invalid_iban_shapes(text: str) -> Iterator[tuple[int, int]]:
    yield from _iban_hits(text)[1]


def _invalid_card_shapes(text: str) -> Iterator[tuple[int, int]]:
    """Numbers printed exactly like a card (4-4-4-4[-3], Amex 4-6-5, or 13-19 digits) that fail the card check."""
    for m in _unglued(_CARD_LAYOUT, text):
        digits = _digits(m.group(0))
        if card_valid(digits):
            continue
        # After a card word any Luhn-valid number is a card (see `_find_card`), so it is no decoy.
        if luhn_valid(digits) and len(set(digits)) > 1 and _card_context(text, m.start()):
            continue
        yield m.span()


def _find_ssn(text: str) -> Iterator[tuple[int, int]]:
    for m in _unglued(_SSN, text):
        if ssn_valid(*m.groups()):
            yield m.span()
    if "ss" in lowercase(text) or "soc" in lowercase(text):  # cheap pre-check for the SSN words
        for m in _unglued(_SSN_LOOSE, text):
            area, _, group, serial = m.groups()
            if ssn_valid(area, group, serial) and _SSN_WORD_BEFORE.search(text, max(0, m.start() - 45), m.start()):
                yield m.span()


def _find_ip(text: str) -> Iterator[tuple[int, int]]:
    for m in _IPV4.finditer(text):
        yield m.span()
    if _IPV6_HINT.search(text):  # cheap pre-check: a colon before a hex digit or a colon
        for m in _IPV6.finditer(text):
            candidate = m.group(0)
            groups = [g for g in candidate.split(":") if g]
            if len(groups) < 3 or not any(c.isdigit() for c in candidate):  # `a::b`, `dead::beef`, `std::map`
                continue
            try:
                ipaddress.IPv6Address(candidate.split("%")[0])
            except ValueError:
                continue
            yield m.span()


_GENERIC_NUMBER_WORD = re.compile(r"(?i)(?:no|nr|num|number|#)\b|#")


def _id_word_blocks(before: str) -> bool:
    """An id word right before the number ("order no. ", "Call reference "), unless it is only the phone
    word's own "number" ("Phone number: ", "Tel. no. ", "contact #")."""
    idm = _ID_WORD_BEFORE.search(before)
    if idm is None:
        return False
    return not (_GENERIC_NUMBER_WORD.match(idm.group(0)) and _PHONE_WORD_RIGHT_BEFORE.search(before[: idm.start()]))


def _phone_context_ok(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 40) : start]
    if _id_word_blocks(before):  # "Phone order no. 783-149-9084": the order number, not a phone
        return False
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
    for m in _unglued(_PHONE_US, text):
        area = m.group(1) or m.group(2)
        if area[0] in "01" or m.group(3)[0] in "01":  # NANP: area code and exchange start with 2-9
            continue
        if _phone_context_ok(text, m.start()):
            yield m.span()
    for m in _unglued(_PHONE_NATIONAL, text):
        n = len(_digits(m.group(0)))
        if 9 <= n <= 12 and not _DATE_SHAPE.match(m.group(0)) and _phone_context_ok(text, m.start()):
            yield m.span()
    for m in after_word(text, _PHONE_WORD_LOWER, _PHONE_AFTER_WORD):
        candidate = m.group(1)
        n = len(_digits(candidate))
        if 7 <= n <= 15 and not _DATE_SHAPE.match(candidate):
            yield m.span(1)
    yield from _find_phone_in_context(text)


def _phone_context_kind(text: str, start: int) -> str | None:
    """"label" right after a contact-card label, "near" after a phone word within 40 characters, else None.
    An id word right before the number wins over a phone word further left ("call about order 4417892011")."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 60) : start]
    if _PHONE_LABEL_BEFORE.search(before):
        return "label"
    if not _PHONE_CONTEXT_BEFORE.search(before) or _id_word_blocks(before):
        return None
    if _CURRENCY_BEFORE.search(before):
        return None
    return "near"


# Speed: most documents hold no phone word at all; the words (and one-letter labels "T:") are found first on the
# lowercased text, and a digit run is examined only when one ends within the 60 characters before it.
_PHONE_CONTEXT_LOWER = re.compile(rf"(?:{_PHONE_CONTEXT_WORDS}|work|home|main|line)\b")
_LETTER_LABEL = re.compile(r"(?:^|(?<=[^a-z0-9]))[tmpfdowhc]\.?[ \t]*$")


def _find_phone_in_context(text: str) -> Iterator[tuple[int, int]]:
    """Phones in any national layout, found by their context rather than their shape (see `_PHONE_CONTEXT_BEFORE`):
    7-15 digits, or 5-15 right after a label ("Phone: 56 78 90" is a short local number)."""
    lower = lowercase(text)
    anchors = [k.end() for k in _PHONE_CONTEXT_LOWER.finditer(lower)]
    colon = lower.find(":")
    while colon >= 0:  # one-letter labels ("T: ", "M. : "): a regex over every t, m, p ... would cost more
        if _LETTER_LABEL.search(lower, max(0, colon - 4), colon):
            anchors.append(colon + 1)
        colon = lower.find(":", colon + 1)
    anchors.sort()
    if not anchors:
        return
    for m in _unglued(_PHONE_RUN, text, anchors[0]):
        i = bisect.bisect_right(anchors, m.start())
        if i == 0 or anchors[i - 1] < m.start() - 60:
            continue
        if len(_digits(m.group(0))) >= 5 and (hit := _phone_in_context(text, m)):
            yield hit


def _phone_in_context(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    kind = _phone_context_kind(text, m.start())
    if kind is None:
        return None
    for end in _group_prefixes(text, m.start(), m.end()):
        candidate = text[m.start() : end]
        n = len(_digits(candidate))
        if n < (5 if kind == "label" else 7):
            return None
        if n > 15 or candidate.count("(") != candidate.count(")"):
            continue
        if _DATE_STRICT.match(candidate) or _TIME_SHAPE.match(candidate):
            return None
        if kind == "near" and (_THOUSANDS_SHAPE.match(candidate) or _UNIT_AFTER.match(text, end)):
            return None
        return m.start(), end
    return None


def _find_phone_with_extension(text: str) -> Iterator[tuple[int, int]]:
    """Each phone span, extended over an extension right after it ("x4587", " ext. 204")."""
    for start, end in _find_phone(text):
        ext = _EXT_AFTER.match(text, end)
        # A country code in parentheses before a national number ("(+1) 202-555-0188") is part of it.
        cc = _CC_BEFORE.search(text, max(0, start - 8), start)
        yield cc.start() if cc else start, ext.end() if ext else end


def _trim_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without leading stoplisted words ("Dear John Smith" -> "John Smith"); None if under two words
    remain or a later word is stoplisted ("John Street")."""
    words = text[start:end].split(" ")
    while words and words[0].casefold() in _NOT_NAME_WORDS:
        start += len(words.pop(0)) + 1
    parts = [p for w in words for p in re.split(r"['\-]", w)]
    if len(words) < 2 or any(p.casefold() in _NOT_NAME_WORDS for p in parts):
        return None
    return start, end


def _find_name(text: str) -> Iterator[tuple[int, int]]:
    lower = lowercase(text)
    for m in _NAME_LABEL_LOWER.finditer(lower):
        if m.start() == 0 or not lower[m.start() - 1].isalnum():
            name = _NAME_AT.match(text, m.end())
            if name and (span := _trim_name(text, *name.span(1))):
                yield span
    for m in _ACCOUNT_WORD_LOWER.finditer(lower):
        if m.start() == 0 or not lower[m.start() - 1].isalnum():
            name = _NAME_BEFORE.search(text, max(0, m.start() - 80), m.start())
            if name and (span := _trim_name(text, *name.span(1))):
                yield span
    for name_start, name_end, _, _ in _name_number_hits(text):
        yield name_start, name_end


@functools.lru_cache(maxsize=2)
def _name_number_hits(text: str) -> tuple[tuple[int, int, int, int], ...]:
    """(name start, name end, number start, number end) of "Jane Doe 004512345678" hits; shared by the account
    and name recognizers (cached: both run on the same text one after the other)."""
    hits = []
    for m in _NAME_THEN_NUMBER.finditer(text):
        if m.start() and text[m.start() - 1].isalnum():
            continue
        digits = _digits(m.group(2))
        name = _trim_name(text, *m.span(1))
        if name and 8 <= len(digits) <= 18 and not _looks_like_yyyymmdd(digits):
            hits.append((*name, *m.span(2)))
    return tuple(hits)


def _find_account(text: str) -> Iterator[tuple[int, int]]:
    for m in after_word(text, _ACCOUNT_WORD, _ACCOUNT_AFTER_WORD):
        if 6 <= len(_digits(m.group(1))) <= 20:
            yield m.span(1)
    for _, _, number_start, number_end in _name_number_hits(text):
        yield number_start, number_end


RECOGNIZERS: dict[str, Recognizer] = {
    "email": _find_email,
    "card": _find_card,
    "iban": _find_iban,
    "ssn": _find_ssn,
    "ip": _find_ip,
    "phone": _find_phone_with_extension,
    "account": _find_account,
    "name": _find_name,
    "secret": find_secrets,
    "url_credentials": find_url_credentials,
}


# ---------------------------------------------------------------------------------------------- public API


def plausible(text: str, kind: str, start: int, end: int) -> bool:
    """Whether another recognizer's hit (Presidio's) passes the precision rules ours apply: a number glued to an
    id prefix or running on into one is not PII, nor is a phone or card right after an id word or a currency."""
    if kind not in ("phone", "card", "ssn", "iban"):
        return True
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if (before.isalnum() or before in _GLUE) and not (kind == "phone" and before == "+"):
        return False
    if after.isalnum() or after == "-":
        return False
    if kind == "phone":
        candidate = text[start:end]
        # Across a line break: OCR and PDF text wrap "account\n5185438982" as often as not.
        before = text[max(0, start - 60) : start].replace("\n", " ")
        return not (
            len(_digits(candidate)) < 7
            or _id_word_blocks(before)  # "Call about invoice 6759278390"
            or _CURRENCY_BEFORE.search(before)
            or _DATE_SHAPE.match(candidate)
            or _DATE_STRICT.match(candidate)
            or _THOUSANDS_SHAPE.match(candidate)
            or _UNIT_AFTER.match(text, end)
        )
    if kind == "card":
        return _card_context(text, start) is not False
    return True


def _rank(kind: str) -> int:
    """Overlap priority: the built-ins' order, an operator's custom type right before `phone` (a declared
    identifier such as `MRN-1234567` beats the generic phone and account readings of its digits)."""
    return PRIORITY.index(kind) if kind in PRIORITY else PRIORITY.index("phone")


def find_pii(
    text: str,
    types: Sequence[str] = ALL_PII_TYPES,
    extra: Sequence[tuple[str, int, int]] = (),
    custom: Sequence[Callable[[str], Iterable[tuple[int, int]]]] = (),
) -> list[PiiSpan]:
    """Non-overlapping PII spans in `text`, sorted by position. `extra`: (type, start, end) hits of other
    recognizers (NER, Presidio), resolved together with ours. `custom`: the operator's recognizers
    (`steep.curate.pii.custom.CustomRecognizer`, each with a `.kind`)."""
    candidates = [
        (_rank(kind), -(end - start), start, end, kind)
        for kind in types
        for start, end in RECOGNIZERS[kind](text)
    ]
    candidates += [(_rank(r.kind), -(end - start), start, end, r.kind) for r in custom for start, end in r(text)]
    candidates += [(_rank(kind), -(end - start), start, end, kind) for kind, start, end in extra]
    # A number printed like a card that fails the card check is a decoy: it blocks lower-priority hits
    # (phones) inside it, as a card would (kind "" = chosen, never reported).
    if "card" in types or "phone" in types:
        card = PRIORITY.index("card")
        candidates += [(card, -(end - start), start, end, "") for start, end in _invalid_card_shapes(text)]
    # An IBAN-shaped string whose checksum fails is not PII, and its digits are not a card or phone either
    # (its 18 BBAN digits pass Luhn one time in ten): it blocks every other hit it overlaps.
    chosen: list[tuple[int, int, str]] = [(s, e, "") for s, e in _invalid_iban_shapes(text)]
    for _, _, start, end, kind in sorted(candidates):
        if all(end <= s or start >= e for s, e, _ in chosen):
            chosen.append((start, end, kind))
    return [PiiSpan(kind, s, e, text[s:e]) for s, e, kind in sorted(chosen) if kind]
