"""Checksums that turn a regex hit into a confirmed PII value: Luhn (cards), ISO 7064 mod-97 (IBAN), SSN rules,
and the card scheme a number's issuer prefix (IIN/BIN) belongs to.

    from steep.curate.pii.checksums import card_scheme, iban_valid, luhn_valid
    luhn_valid("4111111111111111"), iban_valid("GB29 NWBK 6016 1331 9268 19"), card_scheme("4111111111111111")
    # (True, True, 'visa')
"""

from __future__ import annotations


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
    """US SSA rules: area never 000, 666 or 900-999; group never 00; serial never 0000."""
    return area != "000" and area != "666" and not area.startswith("9") and group != "00" and serial != "0000"


# Issuer prefixes (IIN ranges) and the lengths each scheme issues, from the schemes' published tables.
# (scheme, low prefix, high prefix, lengths): a number matches when its first len(low) digits lie in [low, high].
# Order matters only for overlaps: the more specific range comes first (Diners 36 before nothing else; JCB 3528-3589).
CARD_SCHEMES: tuple[tuple[str, str, str, tuple[int, ...]], ...] = (
    ("amex", "34", "34", (15,)),
    ("amex", "37", "37", (15,)),
    ("diners", "300", "305", (14, 16, 17, 18, 19)),
    ("diners", "36", "36", (14, 16, 17, 18, 19)),
    ("diners", "38", "39", (14, 16, 17, 18, 19)),
    ("jcb", "3528", "3589", (16, 17, 18, 19)),
    ("jcb", "1800", "1800", (15,)),  # JCB's older 15-digit ranges, still in test-card tables
    ("jcb", "2131", "2131", (15,)),
    ("visa", "4", "4", (13, 16, 19)),
    ("mastercard", "51", "55", (16,)),
    ("mastercard", "2221", "2720", (16,)),  # the 2-series, issued since 2017
    ("discover", "6011", "6011", (16, 17, 18, 19)),
    ("discover", "644", "649", (16, 17, 18, 19)),
    ("discover", "65", "65", (16, 17, 18, 19)),
    ("unionpay", "62", "62", (16, 17, 18, 19)),
    ("maestro", "50", "50", (12, 13, 14, 15, 16, 17, 18, 19)),
    ("maestro", "56", "58", (12, 13, 14, 15, 16, 17, 18, 19)),
    ("maestro", "6", "6", (12, 13, 14, 15, 16, 17, 18, 19)),  # the rest of the 6 range (Maestro, domestic)
)


def card_scheme(digits: str) -> str | None:
    """The card scheme whose issuer prefix and length fit `digits`, or None. Does not check Luhn."""
    for scheme, low, high, lengths in CARD_SCHEMES:
        if len(digits) in lengths and low <= digits[: len(low)] <= high:
            return scheme
    return None


def card_valid(digits: str) -> bool:
    """A known scheme's prefix and length, passes Luhn, and is not one repeated digit."""
    return card_scheme(digits) is not None and len(set(digits)) > 1 and luhn_valid(digits)
