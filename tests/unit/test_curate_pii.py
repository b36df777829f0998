"""PII redaction: every type redacted; ids, dates, amounts and checksum failures left alone."""

from __future__ import annotations

import pytest

from steep.curate.config import PiiConfig
from steep.curate.document import Document
from steep.curate.pii import PiiRedactor, find_pii, iban_valid, luhn_valid, redact_pii


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("Write to jane.doe+billing@corp.example.com today.", "Write to <EMAIL> today.", "email"),
        ("Call (415) 555-0132 now.", "Call <PHONE> now.", "phone"),
        ("Call 415-555-0132 now.", "Call <PHONE> now.", "phone"),
        ("Call +1 415 555 0132 now.", "Call <PHONE> now.", "phone"),
        ("London office: +44 20 7946 0958.", "London office: <PHONE>.", "phone"),
        ("London office: 020 7946 0958.", "London office: <PHONE>.", "phone"),
        ("Mobile 07700 900123 works.", "Mobile <PHONE> works.", "phone"),
        ("Berlin: +49 (0)30 1234 5678.", "Berlin: <PHONE>.", "phone"),
        ("Berlin: 030 12345678 or 089/1234567.", "Berlin: <PHONE> or <PHONE>.", "phone"),
        ("Tel: 0301234567", "Tel: <PHONE>", "phone"),
        ("Paid with 4111 1111 1111 1111 yesterday.", "Paid with <CARD> yesterday.", "card"),
        ("Paid with 5500-0055-5555-5559.", "Paid with <CARD>.", "card"),
        ("IBAN DE89 3704 0044 0532 0130 00 EUR", "IBAN <IBAN> EUR", "iban"),
        ("IBAN GB29NWBK60161331926819.", "IBAN <IBAN>.", "iban"),
        ("SSN 123-45-6789 on file.", "SSN <SSN> on file.", "ssn"),
        ("Login from 192.168.1.20.", "Login from <IP>.", "ip"),
        ("Account no. 12345678 is closed.", "Account no. <ACCOUNT> is closed.", "account"),
        ("acct #0012-3456-78", "acct #<ACCOUNT>", "account"),
        ("Refund to John Smith 004512345678 approved.", "Refund to <NAME> <ACCOUNT> approved.", "account"),
    ],
)
def test_each_type_is_redacted(text, expected, kind):
    redacted, counts = redact_pii(text)
    assert redacted == expected
    assert counts == {t: expected.count(f"<{t.upper()}>") for t in (kind, "name") if f"<{t.upper()}>" in expected}


@pytest.mark.parametrize(
    "text",
    [
        "Order ORD-2024-118834 shipped.",
        "See invoice INV-2023-00042 and INV-2024-118834.",
        "Case CASE-48213 was escalated.",
        "Policy POL-1042 covers it.",
        "Order #0012 3456 789 and order number 415-555-0132 are linked.",
        "It happened on 2024-03-01, 01/02/2024, 01.02.2024 and 03-01-2024.",
        "Totals: $1,234.56, €12 345,00, EUR 415 555 0132 and 1,000,000 units.",
        "Card 4111 1111 1111 1112 fails Luhn.",
        "Bad IBAN DE89 3704 0044 0532 0130 01 (checksum).",
        "Not SSNs: 000-12-3456, 666-12-3456, 900-12-3456, 123-00-4567, 123-45-0000.",
        "Not IPs: 256.1.1.1, 1.2.3.4.5, v1.2.3.4.",
        "ISO 9001:2015, version 2.3.1 at 10:30, ZIP 94105-1234, ISBN 978-3-16-148410-0.",
        "Order Number 12345678 and Jane Doe 20240315 (a date).",
    ],
)
def test_non_pii_is_left_alone(text):
    assert find_pii(text) == []
    assert redact_pii(text) == (text, {})


def test_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89 3704 0044 0532 0130 00") and not iban_valid("DE89 3704 0044 0532 0130 01")
    assert not iban_valid("DE89 3704 0044 0532 0130")  # wrong length for DE


def test_mixed_text_counts_per_type():
    text = "Jane (jane@corp.com, +44 20 7946 0958) paid 4111-1111-1111-1111 for ORD-2024-118834 from 10.0.0.7."
    redacted, counts = redact_pii(text)
    assert redacted == "Jane (<EMAIL>, <PHONE>) paid <CARD> for ORD-2024-118834 from <IP>."
    assert counts == {"email": 1, "phone": 1, "card": 1, "ip": 1}
    assert redact_pii(redacted) == (redacted, {})  # placeholders are not PII: redaction is idempotent


def test_only_configured_types_are_redacted():
    text = "jane@corp.com from 10.0.0.7"
    assert redact_pii(text, types=["ip"])[0] == "jane@corp.com from <IP>"


def test_redactor_block_redacts_never_drops():
    block = PiiRedactor(PiiConfig())
    docs = [Document("a", "mail jane@corp.com", {"source": "x:1"}), Document("b", "nothing here")]
    out = list(block.run(docs))
    assert [d.text for d in out] == ["mail <EMAIL>", "nothing here"]
    assert out[0].meta == {"source": "x:1", "pii_redacted": {"email": 1}}
    assert docs[0].meta == {"source": "x:1"}  # the input document is not mutated
    assert block.stats.kept == 2 and not block.stats.dropped
    assert block.stats.counters["email"] == 1 and block.stats.counters["docs_redacted"] == 1
