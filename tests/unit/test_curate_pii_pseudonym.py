"""Pseudonym redaction: consistent per value, format-preserving, from reserved ranges, keyed, idempotent."""

from __future__ import annotations

import re

from steep.curate.config import PiiConfig
from steep.curate.document import Document
from steep.curate.pii import PiiRedactor, find_pii, luhn_valid
from steep.curate.pii.checksums import card_scheme, iban_valid, ssn_valid
from steep.curate.pii.pseudonym import Pseudonymizer

TEXT = (
    "Mail jane@corp.com, call +44 20 7946 0958 or (212) 734-9921, card 4820 0312 2346 0143, "
    "IBAN DE89 3704 0044 0532 0130 00, SSN 041-31-4712, ip 81.2.69.160, Account holder: Jane Doe, "
    "account no. 4410023987, postgres://admin:s3cr3t@db, key AKIAQWERTYUIOPASDFGH. Again jane@corp.com."
)


def test_same_value_same_pseudonym_and_reproducible_runs():
    out = PiiRedactor(PiiConfig(style="pseudonym")).redact(TEXT)
    emails = re.findall(r"\S+@example\.com", out)
    assert len(emails) == 2 and emails[0] == emails[1]
    assert "jane@corp.com" not in out
    assert PiiRedactor(PiiConfig(style="pseudonym")).redact(TEXT) == out  # default key: reproducible
    assert PiiRedactor(PiiConfig(style="pseudonym", pseudonym_key="s3cret")).redact(TEXT) != out


def test_pseudonyms_are_format_preserving_and_never_real():
    p = Pseudonymizer()
    card = p.pseudonym("card", "4820 0312 2346 0143")
    digits = card.replace(" ", "")
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", card) and luhn_valid(digits) and card_scheme(digits) == "visa"
    assert digits.startswith("411111")  # a test BIN
    assert p.pseudonym("card", "378282246310005") == "378282246310005"  # already a test number: kept
    amex = p.pseudonym("card", "3714-496353-98431")
    assert re.fullmatch(r"3782-82\d{4}-\d{5}", amex) and luhn_valid(amex.replace("-", ""))
    iban = p.pseudonym("iban", "DE89 3704 0044 0532 0130 00")
    assert re.fullmatch(r"DE00( \d{4}){4} \d{2}", iban) and not iban_valid(iban)  # check digits 00: never valid
    phone = p.pseudonym("phone", "(212) 734-9921")
    assert re.fullmatch(r"\(\d{3}\) 555-01\d\d", phone)  # NANP fictional range
    assert re.fullmatch(r"\+1 \d{3} 555 01\d\d", p.pseudonym("phone", "+44 20 7946 0958"))
    area, group, serial = p.pseudonym("ssn", "041-31-4712").split("-")
    assert area.startswith("9") and 1 <= int(group) <= 49 and not ssn_valid(area, group, serial)
    assert p.pseudonym("ip", "81.2.69.160").startswith(("192.0.2.", "198.51.100.", "203.0.113."))
    assert p.pseudonym("ip", "2001:4860::8888:1").startswith("2001:db8::")
    assert re.fullmatch(r"[a-z]+\.[a-z]+\d{3}@example\.com", p.pseudonym("email", "jane@corp.com"))
    assert re.fullmatch(r"AKIA[A-Z0-9]{9}EXAMPLE", p.pseudonym("secret", "AKIAQWERTYUIOPASDFGH"))
    assert re.fullmatch(r"\d{10}", p.pseudonym("account", "4410023987"))


def test_pseudonym_redaction_is_idempotent():
    block = PiiRedactor(PiiConfig(style="pseudonym"))
    once = block.redact(TEXT)
    assert block.redact(once) == once
    # A fresh run (same key) over the output: every type with a reserved range stays as it is.
    again = PiiRedactor(PiiConfig(style="pseudonym", types=["email", "phone", "card", "iban", "ssn", "ip", "secret",
                                                             "url_credentials"])).redact(once)  # fmt: skip
    assert again == once
    assert not [s for s in find_pii(once) if s.type in ("iban", "ssn")]  # pseudonyms there are not even detected


def test_block_counts_pseudonymized_documents():
    block = PiiRedactor(PiiConfig(style="pseudonym"))
    out = list(block.run([Document("a", "mail jane@corp.com"), Document("b", "nothing")]))
    assert out[0].text.endswith("@example.com") and out[0].meta["pii_redacted"] == {"email": 1}
    assert block.stats.counters["docs_redacted"] == 1
