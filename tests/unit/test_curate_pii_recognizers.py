"""The recognizers beyond the first seven types' basics: card schemes, international phones, IPv6, URLs with
credentials, secrets, names beside accounts. Each with what it must find and what it must leave alone."""

from __future__ import annotations

import pytest

from steep.curate.pii import find_pii, redact_pii
from steep.curate.pii.checksums import card_scheme
from steep.curate.pii.secrets import high_entropy, shannon_entropy


def found(text: str) -> list[tuple[str, str]]:
    return [(span.type, span.text) for span in find_pii(text)]


@pytest.mark.parametrize(
    ("number", "scheme"),
    [
        ("4012888888881881", "visa"),
        ("5555555555554444", "mastercard"),
        ("2221000000000009", "mastercard"),  # 2-series
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("30569309025904", "diners"),
        ("6200000000000005", "unionpay"),
        ("6759649826438453", "maestro"),
    ],
)
def test_every_major_card_scheme_is_found(number, scheme):
    assert card_scheme(number) == scheme
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    assert found(f"Paid with {grouped} today.") == [("card", grouped)]


@pytest.mark.parametrize(
    "text",
    [
        "Card 4012 8888 8888 1882 fails Luhn.",
        "Ref 9111 1111 1111 1111 passes Luhn but no scheme issues 9.",
        "Receipt reference 4078 0933 0209 2932 (a decoy: its groups are not a phone either).",
    ],
)
def test_card_shaped_non_cards_are_left_alone(text):
    assert find_pii(text) == []


@pytest.mark.parametrize(
    "phone",
    ["+33 6 12 34 56 78", "01 23 45 67 89", "03-1234-5678", "+91 98765 43210", "+61 2 9876 5432", "415.555.0132",
     "+14155550132", "+49 89 1234567"],
)  # fmt: skip
def test_international_phone_formats(phone):
    assert found(f"Call {phone} today.") == [("phone", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "Internal product code 767-433-7087 identifies the card.",
        "Agent: The code 228-810-0971 on your statement is ours.",
        "The cocle 504-595-7413 on your statement (OCR read d as cl).",
        "Invoice 415-555-0132 and order no. 0301234567 and policy 030 1234567.",
        "Dates 2024-03-01, 01.02.2024, 2024 03 01.",
    ],
)
def test_ids_codes_and_dates_are_not_phones(text):
    assert find_pii(text) == []


def test_ipv6_found_and_lookalikes_left():
    text = "from 2001:db8:85a3::8a2e:370:7334 and fe80::1ff:fe23:4567:890a and 2001:0db8:0000:0000:0000:ff00:0042:8329"
    assert [t for t, _ in found(text)] == ["ip", "ip", "ip"]
    assert find_pii("Not v6: 10:30:00, std::vector, a::b, de:ad:be:ef:00:01 (a MAC), dead::beef, ::") == []


def test_url_credentials_redact_user_and_password_only():
    text = "db at postgres://admin:s3cr3t@db.internal:5432/app"
    assert redact_pii(text)[0] == "db at postgres://<URL_CREDENTIALS>@db.internal:5432/app"
    assert find_pii("see https://user@host/x and https://host:8443/path and mailto:ops") == []


@pytest.mark.parametrize(
    "secret",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAY34FZKBOKMUTVV7A",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV",
        "xoxb-1234567890-abcdefghij",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "rk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "sk-proj-abcDEF123456ghiJKL7890mnop",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "Zx9Kq2Lm8Np4Rt7Vw1Yb3Cd6Ef0Gh5Jk",  # no known format: high entropy
    ],
)
def test_known_key_formats_and_high_entropy_tokens(secret):
    assert found(f"key {secret} here") == [("secret", secret)]


def test_private_key_block_and_assignments():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    assert found(f"x\n{pem}\ny") == [("secret", pem)]
    text = "password=hunter2, secret: Tr0ub4dor&3, but password: required and api_key: <SECRET>"
    assert redact_pii(text)[0] == "password=<SECRET>, secret: <SECRET>, but password: required and api_key: <SECRET>"


@pytest.mark.parametrize(
    "text",
    [
        "commit 3f786850e387550fdab836ed7e6dc881de23001b Merge branch 'main'",  # git SHA-1: hex, low entropy
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "request 123e4567-e89b-12d3-a456-426614174000 failed",  # UUID: an id, not a credential
        "getUserAccountBalanceByIdV2Handler and KestrelMutualCustomerService2024Q3",  # identifiers
        "Reset your password: required once a year. The secret: none.",
    ],
)
def test_hashes_uuids_identifiers_are_not_secrets(text):
    assert find_pii(text) == []


def test_entropy_threshold_separates_random_tokens_from_hex():
    assert shannon_entropy("aaaa") == 0.0 and shannon_entropy("abcd") == 2.0
    assert high_entropy("Zx9Kq2Lm8Np4Rt7Vw1Yb3Cd6Ef0Gh5Jk")
    assert not high_entropy("3f786850e387550fdab836ed7e6dc881de23001b")


def test_names_beside_account_context():
    text = "Account holder: Jane Doe. customer John Smith (acct 12345678). Customer name: Oliver Müller, account no. 8651742927"
    assert redact_pii(text)[0] == (
        "Account holder: <NAME>. customer <NAME> (acct <ACCOUNT>). Customer name: <NAME>, account no. <ACCOUNT>"
    )


def test_names_need_account_context():
    text = (
        "Customer: Please call me. Customer: The card is fine. Account holder: the primary applicant. Jane Doe agreed."
    )
    assert find_pii(text) == []
    assert found("Dear Customer Service, account 12345678") == [("account", "12345678")]


def test_keyword_offsets_survive_letters_that_lowercase_to_two_characters():
    # "İ".lower() is two characters: keyword hits found on a lowercased copy would land one place off.
    text = "İstanbul şube. Tel: 0212 555 1234, Account holder: Ayşe Yılmaz, account no. 12345678"
    assert redact_pii(text)[0] == "İstanbul şube. Tel: <PHONE>, Account holder: <NAME>, account no. <ACCOUNT>"
