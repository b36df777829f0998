"""The dirt a real document lake carries, made on purpose: planted PII and its look-alikes, OCR damage, mojibake
and near-duplicate edits. Every function takes a `random.Random` and is deterministic given it.

PII values are valid where validity is checkable: card numbers pass Luhn, IBANs pass ISO 13616 mod-97 (French
ones carry a correct RIB key too), SSNs avoid the never-issued areas 000, 666 and 900-999. The decoys are built
to trip a naive regex: card-like numbers that FAIL Luhn, phone-shaped product codes, order, invoice and case
numbers.
"""

from __future__ import annotations

import math
import re
import unicodedata
from random import Random

from steep.demo.domain_catalog import FIRST_NAMES, LAST_NAMES, PRODUCTS
from steep.demo.domain_spec import OCR_PAGE_HEADER
from steep.demo.domain_world import POLICIES

# --- checksums ------------------------------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    """Luhn check over the digits of `number` (spaces and dashes ignored)."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) > 1 and total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload + digit` pass Luhn."""
    return next(str(d) for d in range(10) if luhn_valid(payload + str(d)))


def iban_valid(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers (A=10), and the result mod 97 is 1."""
    s = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def _iban(country: str, bban: str) -> str:
    check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    return f"{country}{check:02d}{bban}"


# --- PII values -----------------------------------------------------------------------------------------------


def _digits(rng: Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def person_name(rng: Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def account_number(rng: Random) -> str:
    """Ten digits, no leading zero: what `ACCOUNT_NUMBER_REGEX` matches."""
    return str(rng.randint(1, 9)) + _digits(rng, 9)


def _group(number: str, sizes: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(number[i : i + size])
        i += size
    return sep.join(out)


def _card_digits(rng: Random) -> tuple[str, tuple[int, ...]]:
    brand = rng.choice(("visa", "mastercard", "amex"))
    if brand == "visa":
        payload = "4" + _digits(rng, 14)
    elif brand == "mastercard":
        payload = str(rng.randint(51, 55)) + _digits(rng, 13)
    else:
        payload = rng.choice(("34", "37")) + _digits(rng, 12)
    sizes = (4, 6, 5) if brand == "amex" else (4, 4, 4, 4)
    return payload + luhn_check_digit(payload), sizes


def card_number(rng: Random, valid: bool = True) -> str:
    """A Visa/Mastercard/Amex number, compact or grouped with spaces or dashes; `valid=False` breaks the check digit."""
    number, sizes = _card_digits(rng)
    if not valid:
        number = number[:-1] + str((int(number[-1]) + rng.randint(1, 9)) % 10)
    return _group(number, sizes, rng.choice(("", " ", " ", "-")))


def iban(rng: Random) -> str:
    country = rng.choice(("DE", "GB", "FR"))
    if country == "DE":
        value = _iban("DE", _digits(rng, 8) + _digits(rng, 10))
    elif country == "GB":
        value = _iban("GB", rng.choice(("NWBK", "BARC", "MIDL", "LOYD", "HBUK")) + _digits(rng, 6) + _digits(rng, 8))
    else:
        bank, branch, acct = _digits(rng, 5), _digits(rng, 5), _digits(rng, 11)
        rib = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(acct)) % 97
        value = _iban("FR", f"{bank}{branch}{acct}{rib:02d}")
    if rng.random() < 0.5:  # printed in groups of four, as on a statement
        value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def ssn(rng: Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def phone(rng: Random) -> str:
    style = rng.randrange(5)
    if style == 0:
        return f"({rng.choice((212, 312, 415, 555, 617, 646, 702))}) {rng.randint(200, 999)}-{_digits(rng, 4)}"
    if style == 1:
        return f"+1 {rng.choice((415, 555, 617))} {rng.randint(200, 999)} {_digits(rng, 4)}"
    if style == 2:
        return f"+44 20 7946 0{_digits(rng, 3)}"
    if style == 3:
        return f"+44 7700 900{_digits(rng, 3)}"
    return f"+49 {rng.choice((30, 40, 89))} {rng.randint(1000000, 9999999)}"


def email(rng: Random, name: str | None = None) -> str:
    first, last = ascii_fold(name or person_name(rng)).lower().split(" ", 1)
    local = rng.choice((f"{first}.{last}", f"{first[0]}.{last}{rng.randint(10, 99)}", f"{first}{last}",
                        f"{first}_{last}{rng.randint(60, 99)}"))
    return f"{local}@{rng.choice(('example.com', 'mail.example.org', 'inbox.example.net', 'example.co.uk'))}"


def ipv4(rng: Random) -> str:
    prefix = rng.choice(("203.0.113", "198.51.100", "192.0.2", f"81.{rng.randint(2, 250)}.{rng.randint(1, 250)}"))
    return f"{prefix}.{rng.randint(2, 254)}"


def name_account(rng: Random) -> tuple[str, str]:
    """(line, value): the value is the span from the name to the end of the account number, as it appears."""
    name, acct = person_name(rng), account_number(rng)
    value = rng.choice((f"{name}, account no. {acct}", f"{name}, account number {acct}", f"{name} (account {acct})"))
    label = rng.choice(("Account holder", "Customer name", "Account holder"))
    return f"{label}: {value}", value


PII_MAKERS = {"email": email, "phone": phone, "card": card_number, "iban": iban, "ssn": ssn, "ip": ipv4}

# Where a value goes. Support logs speak; other documents carry it as a worked example or a note.
DIALOG_PII = {
    "email": ("Customer: You can reach me at {v}.", "Customer: My email address is {v}.",
              "Agent: I've sent the confirmation to {v}."),
    "phone": ("Customer: Please call me back on {v}.", "Agent: I'll call you on {v} once it's sorted.",
              "Customer: My mobile number is {v}."),
    "card": ("Customer: The card number is {v}.", "Customer: It was charged to my card {v}.",
             "Customer: I used card {v} for that payment."),
    "iban": ("Customer: The money went to IBAN {v}.", "Customer: Please refund it to {v}."),
    "ssn": ("Customer: My social security number is {v}, if you need it for the tax form.",
            "Customer: For the US tax form, my SSN is {v}."),
    "ip": ("Agent: Our logs show a sign-in from IP address {v} that you don't recognise.",
           "Agent: The last login came from {v}."),
}
NOTE_PII = {
    "email": ("Worked example: the customer wrote from {v} to ask for an update.",),
    "phone": ("Worked example: the customer asked to be called back on {v}.",),
    "card": ("Worked example: the disputed payment was made with card {v}.",),
    "iban": ("Worked example: the refund was sent to {v}.",),
    "ssn": ("Worked example: a US customer gave SSN {v} for the tax form.",),
    "ip": ("Worked example: the suspicious sign-in came from {v}.",),
}


def pii_line(rng: Random, kind: str, dialog: bool) -> tuple[str, str]:
    """(line, value) for one planted PII item of type `kind`."""
    if kind == "name_account":
        line, value = name_account(rng)
        return (line if dialog else f"Worked example: {line}."), value
    value = PII_MAKERS[kind](rng)
    template = rng.choice((DIALOG_PII if dialog else NOTE_PII)[kind])
    return template.format(v=value), value


# --- decoys: things a naive regex flags that are not PII -----------------------------------------------------


def _case(rng: Random) -> str:
    return f"CASE-{rng.randint(10000, 99999)}"


def _order(rng: Random) -> str:
    return f"ORD-{rng.randint(2019, 2024)}-{rng.randint(100000, 999999)}"


def _invoice(rng: Random) -> str:
    return f"INV-{rng.randint(10000, 99999)}"


def _product_code(rng: Random) -> str:  # shaped like a US phone number
    return f"{rng.randint(200, 999)}-{rng.randint(200, 999)}-{_digits(rng, 4)}"


def _amount(rng: Random) -> str:
    return f"£{rng.randint(5, 2400):,}.{rng.randint(0, 99):02d}"


def _date(rng: Random) -> str:
    return f"{rng.randint(2019, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def decoy_line(rng: Random, dialog: bool, card_like: bool = False) -> str:
    """One line with a look-alike of PII; `card_like` forces the Luhn-failing card-shaped number."""
    product, policy = rng.choice(PRODUCTS), rng.choice(POLICIES)
    if card_like:
        number = card_number(rng, valid=False)
        return f"Customer: The reference on my receipt is {number}." if dialog else \
            f"Training systems use the test number {number}, which is not a real card."
    if dialog:
        options = (
            lambda: f"Agent: I've logged this under case {_case(rng)}.",
            lambda: f"Customer: It was order {_order(rng)} from an online shop.",
            lambda: f"Agent: The merchant's invoice {_invoice(rng)} shows {_amount(rng)} on {_date(rng)}.",
            lambda: f"Customer: The reference on my receipt is {card_number(rng, valid=False)}.",
            lambda: f"Agent: The code {_product_code(rng)} on your statement is our internal code for the "
                    f"{product.name}.",
            lambda: f"Agent: That is covered by {policy.pid}, our {policy.title}.",
        )
    else:
        options = (
            lambda: f"Reference example: order {_order(rng)}, invoice {_invoice(rng)}, case {_case(rng)}.",
            lambda: f"Training systems use the test number {card_number(rng, valid=False)}, which is not a real card.",
            lambda: f"Internal product code {_product_code(rng)} identifies the {product.name} in the pricing system.",
            lambda: f"Sample adjustment: {_amount(rng)} credited on {_date(rng)} under {policy.pid}.",
        )
    return rng.choice(options)()


# --- OCR damage -----------------------------------------------------------------------------------------------

_CONFUSIONS = (("rn", "m"), ("m", "rn"), ("l", "1"), ("O", "0"), ("0", "O"), ("cl", "d"), ("d", "cl"))


def _confuse(word: str, rng: Random) -> str:
    options = [(a, b) for a, b in _CONFUSIONS if a in word]
    if not options:
        return word
    a, b = rng.choice(options)
    starts = [m.start() for m in re.finditer(re.escape(a), word)]
    i = rng.choice(starts)
    return word[:i] + b + word[i + len(a) :]


def _force_hyphen_break(lines: list[str], rng: Random) -> None:
    """Move the start of a long word up to the end of the line before it, so every scan has at least one
    `infor-` / `mation` break for the repair pass to join."""
    spots = [i for i in range(1, len(lines)) if lines[i - 1] and re.match(r"[a-z]{6,}\b", lines[i])]
    if spots:
        i = rng.choice(spots)
        lines[i - 1] += f" {lines[i][:3]}-"
        lines[i] = lines[i][3:]


def ocr_damage(text: str, rng: Random) -> str:
    """What a scanner and a cheap OCR engine make of `text`: ligatures, character confusions, hard wraps at about
    60 characters with words hyphenated across line breaks, and a running header and page number on every page."""
    lig_rate = rng.uniform(0.5, 1.0)
    ligatures = {"fi": "ﬁ", "fl": "ﬂ"}
    text = re.sub("f[il]", lambda m: ligatures[m.group(0)] if rng.random() < lig_rate else m.group(0), text)
    width = rng.randint(56, 64)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = [_confuse(w, rng) if rng.random() < 0.035 else w for w in paragraph.split()]
        line = ""
        for word in words:
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line += " " + word
            else:
                room = width - len(line) - 1
                if word.isalpha() and len(word) >= 7 and room >= 4 and rng.random() < 0.7:
                    k = rng.randint(3, min(room - 1, len(word) - 3))
                    lines.append(f"{line} {word[:k]}-")
                    line = word[k:]
                else:
                    lines.append(line)
                    line = word
        lines.append(line)
    if not any(line.endswith("-") and line[-2:-1].isalpha() for line in lines):
        _force_hyphen_break(lines, rng)
    per_page = min(rng.randint(12, 18), max(3, math.ceil(len(lines) / 2)))
    pages = [lines[i : i + per_page] for i in range(0, len(lines), per_page)]
    numbered = rng.random() < 0.5
    out = []
    for k, page in enumerate(pages, start=1):
        footer = f"Page {k} of {len(pages)}" if numbered else f"- {k} -"
        out.append("\n".join([OCR_PAGE_HEADER, *page, footer]))
    return "\n\n".join(out)


# --- mojibake -------------------------------------------------------------------------------------------------


def _sloppy_cp1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: Windows leaves them as C1 controls
        return chr(byte)


_CP1252 = [_sloppy_cp1252(b) for b in range(256)]


def mojibake(text: str, rng: Random) -> str:
    """UTF-8 bytes read back as Windows-1252 (mostly) or Latin-1: `café` -> `cafÃ©`, `’` -> `â€™`."""
    raw = text.encode("utf-8")
    if rng.random() < 0.8:
        return "".join(_CP1252[b] for b in raw)
    return raw.decode("latin-1")


# --- near duplicates ------------------------------------------------------------------------------------------

_SYNONYMS = {
    "customer": "client", "customers": "clients", "staff": "colleagues", "must": "should", "within": "inside",
    "account": "acount", "business": "working", "days": "working days", "payment": "transaction",
    "payments": "transactions", "policy": "rule", "receive": "recieve", "immediately": "straight away",
    "please": "kindly", "explain": "describe", "record": "log", "request": "application", "check": "verify",
    "confirm": "verify", "allowed": "permitted", "usually": "normally", "money": "funds", "refund": "repayment",
    "quickly": "promptly", "also": "additionally", "help": "assist", "recorded": "logged", "issued": "sent",
}
BOILERPLATE = (
    "Printed copies of this document are uncontrolled.",
    "This page was exported from the archive and may be out of date.",
    "Please check the intranet for the latest version.",
    "Internal use only.",
    "Reviewed by the quality team.",
    "No changes since the previous review.",
)


def word_jaccard(a: str, b: str) -> float:
    sa, sb = set(a.lower().split()), set(b.lower().split())
    return len(sa & sb) / max(1, len(sa | sb))


def _typo(word: str, rng: Random) -> str:
    i = rng.randint(1, len(word) - 3)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _substitute(text: str, rng: Random, protected: list[str]) -> str:
    spans = [(m.start(), m.end()) for p in protected if p for m in re.finditer(re.escape(p), text)]
    candidates = [m for m in re.finditer(r"\b[a-z]{4,}\b", text)
                  if not any(s < m.end() and m.start() < e for s, e in spans)]
    k = min(len(candidates), max(2, round(0.05 * len(text.split()))))
    chosen = sorted(rng.sample(candidates, k), key=lambda m: m.start())
    out, pos = [], 0
    for m in chosen:
        word = m.group(0)
        new = _SYNONYMS.get(word) or _typo(word, rng)
        if new == word:
            new = word + "s"
        out += [text[pos : m.start()], new]
        pos = m.end()
    return "".join(out) + text[pos:]


def _edit_lines(text: str, rng: Random, protected: list[str]) -> str:
    lines = text.split("\n")
    total = len(text.split())
    removable = [i for i, line in enumerate(lines) if i > 0 and 0 < len(line.split()) <= 0.08 * total
                 and total >= 100 and not any(p and p in line for p in protected)]
    if removable and rng.random() < 0.5:
        del lines[rng.choice(removable)]
    else:
        for _ in range(rng.randint(1, 2)):
            lines.insert(rng.randint(1, len(lines)), rng.choice(BOILERPLATE))
    return "\n".join(lines)


def near_duplicate(text: str, rng: Random, protected: list[str]) -> str:
    """A copy of `text` with about 5% of its words changed at scattered positions, or a line added or removed.

    Words inside `protected` strings (PII values, codenames, post-cutoff terms) are never touched, so the copy
    keeps its source's labels. The result always differs from `text` and keeps word Jaccard above 0.8.
    """
    if rng.random() < 0.4:
        edited = _edit_lines(text, rng, protected)
        if edited != text and word_jaccard(edited, text) > 0.85:
            return edited
    edited = _substitute(text, rng, protected)
    if edited == text or word_jaccard(edited, text) <= 0.8:
        raise ValueError("near_duplicate: could not make a close copy")  # not reached for demo-sized documents
    return edited
