"""Consistent, format-preserving pseudonyms from reserved or never-issued ranges, keyed by HMAC-SHA256.

    from steep.curate.pii.pseudonym import Pseudonymizer
    p = Pseudonymizer()                     # key: DEFAULT_KEY, so two runs give the same pseudonyms
    p.pseudonym("email", "jane@corp.com")   # 'alex.morgan417@example.com', the same every time

Same (type, value) -> same pseudonym everywhere in a run (and across runs with the same key): documents stay
linkable ("the customer who wrote twice") without carrying the person. The default key is a fixed public string,
so runs are reproducible, but anyone can recompute a pseudonym from a guessed value: set `pii.pseudonym_key` to
a secret when that matters.

Every pseudonym is realistic for training and can never be a real person's data:
| type            | pseudonym                                                 | why it cannot be real                  |
| email           | first.lastNNN@example.com                                 | example.com is reserved (RFC 2606)     |
| phone           | NANP AAA-555-01XX, laid out like the original (+1, (AAA)) | 555-0100..0199 is fictional (NANPA)    |
| card            | the same scheme's test BIN, same length and grouping, Luhn | scheme test ranges                    |
| iban            | same country, length and grouping, check digits 00        | 00 never passes mod-97 (valid: 02-98)  |
| ssn             | 9AA-GG-SSSS with group 01-49                              | SSA never issues 9xx; ITINs use groups  |
|                 |                                                           | 50-65/70-88/90-92/94-99                 |
| ip              | 192.0.2.x / 198.51.100.x / 203.0.113.x; v6 2001:db8::/32  | documentation ranges (RFC 5737, 3849)  |
| account         | same length and layout, digits from the HMAC              | format only (no registry to reserve)   |
| name            | First Last from a small list                              | not a registry: a common name           |
| secret          | same length and character classes, ends in EXAMPLE        | random                                 |
| url_credentials | userNNN:example-XXXXXXXX                                  | random                                 |

Idempotent: a value already in a pseudonym range (IBAN check digits 00 and 9xx SSNs are not even detected) is
its own pseudonym, and every pseudonym produced by this instance maps to itself, so redacting twice in a run
changes nothing. Across runs the same holds for every type except `account` and `name`, which have no reserved
range: a second run over pseudonymized output maps those fake values to other fake values (nothing real leaks).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re

from steep.curate.pii.checksums import card_scheme, luhn_valid

DEFAULT_KEY = "steep-pii-pseudonym-v1"  # public on purpose: reproducible runs; set pii.pseudonym_key for secrecy

FIRST = ("Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Rowan", "Sage",
         "Robin", "Kai", "Drew", "Emery", "Hayden")  # fmt: skip
LAST = ("Morgan", "Ellis", "Hart", "Lane", "Reed", "Shaw", "Blake", "Quill", "Frost", "Vale", "Wren", "Hale",
        "Marsh", "Pryce", "Stone", "Thorne")  # fmt: skip
# A test BIN per scheme (published by the schemes / acquirers for testing); the rest of the number is ours.
TEST_BINS = {"visa": "411111", "mastercard": "555555", "amex": "378282", "discover": "601111",
             "jcb": "353011", "diners": "305693", "unionpay": "620000", "maestro": "675964"}  # fmt: skip
_DOC_NETS = ("192.0.2.", "198.51.100.", "203.0.113.")
_EMAIL_PSEUDO = re.compile(r"^[a-z]+\.[a-z]+\d{3}@example\.com$")
_SECRET_PREFIX = re.compile(
    r"^(?:AKIA|ASIA|AIza|eyJ|github_pat_|gh[pousr]_|xox[abposr]-|[sr]k_(?:live|test)_|sk-(?:proj-)?)"
)
_URL_PSEUDO = re.compile(r"^user\d{3}:example-[0-9a-f]{8}$")


class Pseudonymizer:
    def __init__(self, key: str | None = None) -> None:
        self.key = (key or DEFAULT_KEY).encode()
        self.produced: set[str] = set()

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self.key, f"{kind}\0{value}".encode(), hashlib.sha256).digest()

    def _digits(self, digest: bytes, n: int) -> str:
        # 256 bits give ~77 decimal digits; chain a second digest for longer needs.
        number = int.from_bytes(digest + hashlib.sha256(digest).digest(), "big")
        return str(number).zfill(n)[-n:]

    def pseudonym(self, kind: str, value: str) -> str:
        if value in self.produced or self.is_reserved(kind, value):
            return value
        out = getattr(self, f"_{kind}")(value, self._digest(kind, value))
        self.produced.add(out)
        return out

    def tagged(self, placeholder: str, kind: str, value: str) -> str:
        """A custom type's pseudonym: its placeholder with a keyed 8-hex tag (`<MRN:3f2a9c1d>`), the same for the
        same value, so mentions stay linkable without the value (and the output never matches the pattern)."""
        tag = self._digest(kind, value).hex()[:8]
        return f"{placeholder[:-1]}:{tag}>" if placeholder.endswith(">") else f"{placeholder}:{tag}"

    @staticmethod
    def is_reserved(kind: str, value: str) -> bool:
        """A value already in the range pseudonyms come from: never a real person's, kept as it is."""
        digits = "".join(c for c in value if c.isdigit())
        if kind == "email":
            return bool(_EMAIL_PSEUDO.match(value))
        if kind == "phone":
            return len(digits) >= 10 and digits[-7:-2] == "55501"
        if kind == "card":
            scheme = card_scheme(digits)
            return scheme is not None and digits.startswith(TEST_BINS[scheme])
        if kind == "ip":
            try:
                return ipaddress.ip_address(value) in ipaddress.ip_network("2001:db8::/32") or value.startswith(
                    _DOC_NETS
                )
            except ValueError:
                return False
        if kind == "secret":
            return value.endswith("EXAMPLE") or "\nEXAMPLE\n" in value
        if kind == "url_credentials":
            return bool(_URL_PSEUDO.match(value))
        return False

    # one method per type: (value, digest) -> pseudonym

    def _email(self, value: str, d: bytes) -> str:
        return f"{FIRST[d[0] % 16].lower()}.{LAST[d[1] % 16].lower()}{self._digits(d[2:], 3)}@example.com"

    def _phone(self, value: str, d: bytes) -> str:
        area = f"{2 + d[0] % 8}{self._digits(d[1:], 2)}"
        line = f"01{self._digits(d[3:], 2)}"
        if value.startswith("+"):
            return f"+1 {area} 555 {line}"
        if value.startswith("("):
            return f"({area}) 555-{line}"
        sep = "." if "." in value else "-" if "-" in value else " "
        return f"{area}{sep}555{sep}{line}"

    def _fill(self, layout: str, digits: str) -> str:
        """`digits` poured into the digit positions of `layout` (separators kept)."""
        it = iter(digits)
        return "".join(next(it) if c.isdigit() else c for c in layout)

    def _card(self, value: str, d: bytes) -> str:
        digits = "".join(c for c in value if c.isdigit())
        prefix = TEST_BINS.get(card_scheme(digits) or "visa", "411111")
        body = prefix + self._digits(d, len(digits) - len(prefix) - 1)
        check = next(str(c) for c in range(10) if luhn_valid(body + str(c)))
        return self._fill(value, body + check)

    def _iban(self, value: str, d: bytes) -> str:
        compact = value.replace(" ", "")
        bban = "".join(self._digits(d, 34)[i] if c.isdigit() else c for i, c in enumerate(compact[4:]))
        out = compact[:2] + "00" + bban  # check digits 00: never a valid IBAN
        if " " in value:
            return " ".join(out[i : i + 4] for i in range(0, len(out), 4))
        return out

    def _ssn(self, value: str, d: bytes) -> str:
        return f"9{self._digits(d, 2)}-{1 + d[3] % 49:02d}-{self._digits(d[4:], 4)}"

    def _ip(self, value: str, d: bytes) -> str:
        if ":" in value:
            return f"2001:db8::{d[0]:x}:{d[1]:x}{d[2]:02x}"
        return f"{_DOC_NETS[d[0] % 3]}{1 + d[1] % 254}"

    def _account(self, value: str, d: bytes) -> str:
        n = sum(c.isdigit() for c in value)
        return self._fill(value, str(1 + d[0] % 9) + self._digits(d[1:], n - 1))

    def _name(self, value: str, d: bytes) -> str:
        return f"{FIRST[d[0] % 16]} {LAST[d[1] % 16]}"

    def _secret(self, value: str, d: bytes) -> str:
        if value.startswith("-----BEGIN"):
            return "-----BEGIN PRIVATE KEY-----\nEXAMPLE\n-----END PRIVATE KEY-----"
        # Keep a known format's prefix (ghp_, sk_live_, AKIA, xoxb-, eyJ) so the pseudonym still reads as that key.
        known = _SECRET_PREFIX.match(value)
        prefix = known.group(0) if known else ""
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no lowercase where the key has none (AWS key ids)
        if any(c.islower() for c in value[len(prefix) :]):
            alphabet += "abcdefghijkmnopqrstuvwxyz"
        number = int.from_bytes(d, "big")
        body = []
        for _ in range(max(0, len(value) - len(prefix) - 7)):
            number, r = divmod(number, len(alphabet))
            body.append(alphabet[r])
        return prefix + "".join(body) + "EXAMPLE"

    def _url_credentials(self, value: str, d: bytes) -> str:
        return f"user{self._digits(d, 3)}:example-{d[3:7].hex()}"
