"""An independent PII development set: business sentences with labeled emails, phones, cards, IBANs, SSNs and IPs,
plus hard negatives (order, policy, invoice numbers, dates, amounts, decoy card and IBAN shapes) that are NOT PII.

    pip install 'Faker==37.1.0'        # only for regenerating; tests read the committed files
    python bench/curate/pii_devset.py  # writes tests/data/pii_devset/{lake,labels}.jsonl (fixed seed)
    python -m steep.curate.pii.score tests/data/pii_devset/lake.jsonl tests/data/pii_devset/labels.jsonl

Independent of `steep.demo` (our own generator) and of steep's detectors: values come from
- Faker's providers (cards of every Faker scheme, phones and IBANs of 20+ locales, emails, SSNs, IPs), and
- phonenumbers' per-region example numbers (libphonenumber metadata) in national and international layout,
- formats written here from real statements, invoices and e-mail signatures: card IIN ranges and lengths of
  each scheme (Luhn check digit computed here), national and international phone layouts with extensions,
  IBANs of 30+ countries built with their own ISO 7064 check digits, printed spaced / unspaced / lowercase.
Checksums are recomputed here (not imported from steep), so a detector bug cannot leak into the labels.

Rows: lake `{id, text, meta: {source, split}}`, labels `{id, pii: [{type, value}]}` (the scorer's format).
Split: `heldout` holds 40% of rows at random AND every row from the held-out sources (some Faker locales and
some hand-written format families appear only there), so the held-out score measures generalisation.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

SEED = 20261204
OUT = Path(__file__).resolve().parents[2] / "tests" / "data" / "pii_devset"
HELDOUT_FRACTION = 0.4
# Sources seen only in the held-out split.
HELDOUT_SOURCES = {
    "faker_phone:en_AU", "faker_phone:it_IT", "faker_phone:pt_BR", "faker_phone:sv_SE", "faker_phone:cs_CZ",
    "faker_iban:pt_PT", "faker_iban:pl_PL", "hand_phone:jp", "hand_phone:br", "hand_card:unionpay",
    "hand_card:rupay", "hand_iban:lower_spaced", "hand_negative:tracking", "pn_phone:SG", "pn_phone:ZA",
    "pn_phone:KR", "pn_phone:TR", "pn_phone:AR", "pn_phone:NO", "pn_phone:HU", "pn_phone:LK", "real:phone",
    "real:card", "real:iban", "real:negative",
}  # fmt: skip

PHONE_LOCALES = [
    "en_US", "en_GB", "en_CA", "en_AU", "en_IN", "en_IE", "en_NZ", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CH",
    "it_IT", "es_ES", "es_MX", "nl_NL", "nl_BE", "pt_BR", "pt_PT", "pl_PL", "sv_SE", "da_DK", "fi_FI", "cs_CZ",
    "ja_JP",
]  # fmt: skip
IBAN_LOCALES = ["en_GB", "de_DE", "de_AT", "de_CH", "fr_FR", "it_IT", "es_ES", "nl_NL", "pl_PL", "pt_PT",
                "en_IE", "da_DK", "fi_FI", "cs_CZ", "nl_BE"]  # fmt: skip
FAKER_CARD_TYPES = ["visa", "visa13", "visa19", "mastercard", "amex", "discover", "diners", "jcb15", "jcb16",
                    "maestro"]  # fmt: skip

# ---------------------------------------------------------------------------------------------- checksums (own)


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # the digit left of the check digit is doubled
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(digits: str) -> bool:
    return luhn_check_digit(digits[:-1]) == digits[-1]


def iban_check(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged.upper()))
    return f"{98 - number % 97:02d}"


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


# BBAN layouts (n: digits, a: upper letters, c: alphanumerics), from the SWIFT IBAN registry.
BBAN = {
    "AT": "16n", "BE": "12n", "BG": "4a6n8c", "CH": "5n12c", "CY": "8n16c", "CZ": "20n", "DE": "18n", "DK": "14n",
    "EE": "16n", "ES": "20n", "FI": "14n", "FR": "10n11c2n", "GB": "4a14n", "GR": "7n16c", "HR": "17n",
    "HU": "24n", "IE": "4a14n", "IS": "22n", "IT": "1a10n12c", "LT": "16n", "LU": "3n13c", "LV": "4a13c",
    "MT": "4a5n18c", "NL": "4a10n", "NO": "11n", "PL": "24n", "PT": "21n", "RO": "4a16c", "SA": "2n18c",
    "SE": "20n", "SI": "15n", "SK": "20n", "TR": "5n1n16c", "AE": "3n16n", "QA": "4a21c", "BR": "23n1a1c",
    "IL": "19n", "KW": "4a22c", "MU": "4a19n3a", "UA": "6n19c", "SM": "1a10n12c", "MC": "10n11c2n",
}  # fmt: skip


def make_bban(rng: random.Random, layout: str) -> str:
    out, num = [], ""
    for ch in layout:
        if ch.isdigit():
            num += ch
            continue
        alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}[ch]
        # alphanumeric fields are mostly digits in practice
        out += [rng.choice(string.digits if ch == "c" and rng.random() < 0.8 else alphabet) for _ in range(int(num))]
        num = ""
    return "".join(out)


def make_iban(rng: random.Random, country: str) -> str:
    bban = make_bban(rng, BBAN[country])
    return country + iban_check(country, bban) + bban


def spaced4(s: str) -> str:
    return " ".join(s[i : i + 4] for i in range(0, len(s), 4))


# ---------------------------------------------------------------------------------------------- cards (own IIN table)

# scheme -> (prefixes, lengths), from the schemes' published IIN tables.
CARD_IIN = {
    "visa": (["4"], [13, 16, 19]),
    "visa_electron": (["4026", "417500", "4508", "4844", "4913", "4917"], [16]),
    "mastercard": (["51", "52", "53", "54", "55", "2221", "2300", "2500", "2600", "2720"], [16]),
    "amex": (["34", "37"], [15]),
    "discover": (["6011", "644", "645", "649", "65", "622126", "622925"], [16, 19]),
    "diners": (["300", "305", "36", "38", "39"], [14, 16]),
    "jcb": (["3528", "3550", "3589"], [16, 19]),
    "unionpay": (["62", "6212", "6282"], [16, 17, 18, 19]),
    "maestro": (["5018", "5020", "5038", "5893", "6304", "6759", "6761", "6763"], [12, 13, 16, 19]),
    "rupay": (["6521", "6522", "60", "508"], [16]),
    "mir": (["2200", "2201", "2204"], [16]),
}
CARD_LAYOUTS = ["4-4-4-4", "4 4 4 4", "plain", "4 6 5", "4-6-5", "4 4 4 4 3"]


def make_card(rng: random.Random, scheme: str) -> str:
    prefixes, lengths = CARD_IIN[scheme]
    prefix, n = rng.choice(prefixes), rng.choice(lengths)
    body = prefix + "".join(rng.choice(string.digits) for _ in range(n - len(prefix) - 1))
    return body + luhn_check_digit(body)


def print_card(rng: random.Random, digits: str) -> str:
    n = len(digits)
    if n == 15 and rng.random() < 0.6:  # Amex style 4-6-5
        sep = rng.choice([" ", "-"])
        return sep.join([digits[:4], digits[4:10], digits[10:]])
    style = rng.choice(["plain", " ", "-"]) if n in (16, 19, 12) else rng.choice(["plain", " "])
    if style == "plain":
        return digits
    return style.join(digits[i : i + 4] for i in range(0, n, 4))


# ---------------------------------------------------------------------------------------------- phones (own formats)


def d(rng: random.Random, n: int, first: str = string.digits) -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def nanp(rng: random.Random) -> tuple[str, str, str]:
    return d(rng, 3, "23456789"), d(rng, 3, "23456789"), d(rng, 4)


def hand_phone(rng: random.Random, family: str) -> str:
    ext = lambda: rng.choice([" x", "x", " ext. ", " ext ", " Ext. ", ", ext. ", " #"]) + d(rng, rng.choice([2, 3, 4]))  # noqa: E731
    if family == "us":
        a, b, c = nanp(rng)
        s = rng.choice([f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"+1-{a}-{b}-{c}",
                        f"1-{a}-{b}-{c}", f"({a}){b}-{c}", f"{a} {b} {c}", f"+1 ({a}) {b}-{c}"])  # fmt: skip
        return s + (ext() if rng.random() < 0.35 else "")
    if family == "uk":
        return rng.choice([f"020 {d(rng, 4)} {d(rng, 4)}", f"+44 20 {d(rng, 4)} {d(rng, 4)}", f"07{d(rng, 3)} {d(rng, 6)}",
                           f"+44 (0)161 {d(rng, 3)} {d(rng, 4)}", f"0131 {d(rng, 3)} {d(rng, 4)}",
                           f"+44 7{d(rng, 3)} {d(rng, 6)}"])  # fmt: skip
    if family == "de":
        return rng.choice([f"+49 30 {d(rng, 8)}", f"030 {d(rng, 4)} {d(rng, 4)}", f"(089) {d(rng, 6)}",
                           f"0171/{d(rng, 7)}", f"+49 (0)69 {d(rng, 3)} {d(rng, 3)}-{d(rng, 2)}",
                           f"0049 221 {d(rng, 7)}", f"+49 151 {d(rng, 8)}"])  # fmt: skip
    if family == "fr":
        pairs = " ".join(d(rng, 2) for _ in range(4))
        return rng.choice([f"01 {pairs}", f"+33 1 {pairs}", f"06.{pairs.replace(' ', '.')}", f"+33 (0)6 {pairs}"])
    if family == "in":
        return rng.choice([f"+91 98{d(rng, 3)} {d(rng, 5)}", f"+91-22-{d(rng, 8)}", f"098{d(rng, 8)}",
                           f"+91 {d(rng, 5, '6789')} {d(rng, 5)}"])  # fmt: skip
    if family == "au":
        return rng.choice([f"(02) {d(rng, 4)} {d(rng, 4)}", f"+61 2 {d(rng, 4)} {d(rng, 4)}", f"04{d(rng, 2)} {d(rng, 3)} {d(rng, 3)}"])
    if family == "nl":
        return rng.choice([f"020-{d(rng, 7)}", f"+31 20 {d(rng, 3)} {d(rng, 4)}", f"06-{d(rng, 8)}", f"+31 6 {d(rng, 8)}"])
    if family == "jp":
        return rng.choice([f"03-{d(rng, 4)}-{d(rng, 4)}", f"+81 3-{d(rng, 4)}-{d(rng, 4)}", f"090-{d(rng, 4)}-{d(rng, 4)}"])
    if family == "br":
        return rng.choice([f"(11) 9{d(rng, 4)}-{d(rng, 4)}", f"+55 11 9{d(rng, 4)}-{d(rng, 4)}", f"(21) {d(rng, 4)}-{d(rng, 4)}"])
    if family == "bare":  # digits only, as typed into a form field
        return d(rng, rng.choice([10, 10, 11]), "23456789")
    if family == "local":  # short local numbers, only ever written after a label
        return rng.choice([f"{d(rng, 3, '23456789')}-{d(rng, 4)}", f"{d(rng, 4, '23456789')} {d(rng, 4)}",
                           f"{d(rng, 7, '23456789')}", f"{d(rng, 3, '23456789')} {d(rng, 2)} {d(rng, 2)}"])  # fmt: skip
    if family == "intl00":
        return rng.choice([f"00 44 20 {d(rng, 4)} {d(rng, 4)}", f"0033 1 {d(rng, 2)} {d(rng, 2)} {d(rng, 2)} {d(rng, 2)}",
                           f"001 {'-'.join(nanp(rng))}", f"+1.{'.'.join(nanp(rng))}"])  # fmt: skip
    raise ValueError(family)


PN_REGIONS = ["US", "CA", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "LU", "IT", "ES", "PT", "SE", "NO", "DK",
              "FI", "PL", "CZ", "SK", "HU", "RO", "GR", "TR", "IL", "AE", "SA", "EG", "ZA", "NG", "KE", "IN", "PK",
              "SG", "MY", "TH", "VN", "PH", "ID", "CN", "HK", "TW", "KR", "JP", "AU", "NZ", "MX", "BR", "AR", "CL",
              "CO", "PE", "RU", "UA", "MA", "LB", "QA", "KW", "LK"]  # fmt: skip
HAND_PHONE_FAMILIES = ["us", "us", "uk", "de", "fr", "in", "au", "nl", "jp", "br", "bare", "local", "intl00"]

# ---------------------------------------------------------------------------------------------- sentence templates

# Phone contexts: labelled fields from signatures and forms, and prose. `{v}` is the value.
PHONE_LABELLED = ["Phone: {v}", "Tel: {v}", "Tel.: {v}", "Desk: {v}", "Fax: {v}", "Mobile: {v}", "Cell: {v}",
                  "Direct: {v}", "Office: {v}", "Work: {v}", "Home: {v}", "Ph: {v}", "T: {v}", "M: {v}",
                  "Telephone: {v}", "Phone number: {v}", "Mob. {v}", "Direct line: {v}", "Main: {v}",
                  "Switchboard: {v}", "Contact number: {v}", "Fax {v}", "Telefon: {v}", "Tél. : {v}",
                  "Phone (work): {v}", "WhatsApp: {v}"]  # fmt: skip
PHONE_PROSE = ["Please call me at {v} before Friday.", "You can reach our billing team on {v}.",
               "For urgent issues phone {v} and ask for the duty manager.", "My number is {v}, text anytime.",
               "Call {v} to confirm the delivery slot.", "The customer left a voicemail from {v} this morning.",
               "Ring the front desk on {v} if the gate is locked.", "Her mobile number is {v}.",
               "Contact the claims handler at {v} or by e-mail.", "Reach me at {v} after 5pm.",
               "He asked us to call back on {v}.", "Dial {v} and press 2 for accounts payable."]  # fmt: skip
SIGNATURE = ["Kind regards,\nJordan Blake\nSenior Account Manager\n{label}\n", "Best,\nA. Novak | Procurement\n{label}\n",
             "--\nSupport Desk\n{label} | Mon-Fri 9-5\n"]  # fmt: skip
CARD_CONTEXT = ["Card number: {v}", "Please charge my Visa {v} for the renewal.", "credit card {v} exp 09/27",
                "Paid by card {v} on 14 March.", "Card: {v}, CVV on file.", "The customer's Mastercard {v} was declined.",
                "Refund to card no. {v} within 5 business days.", "CC# {v}", "Kartennummer: {v}",
                "Maestro {v} used at the terminal.", "My credit card number is {v}.", "Debit card {v} has been blocked.",
                "PAN {v} flagged by fraud monitoring.", "Amex {v} on the corporate account.",
                "JCB card {v} accepted.", "Payment card: {v}"]  # fmt: skip
CARD_BARE = ["{v} was charged $1,240.00 on 2024-03-02.", "Charge {v} and email the receipt.",
             "The terminal read {v} twice.", "Number on the statement: {v}."]  # fmt: skip
IBAN_CONTEXT = ["IBAN: {v}", "Please transfer the deposit to IBAN {v} (BIC DEUTDEFF).", "Bank account {v}",
                "Beneficiary IBAN {v}, reference INV-2291.", "Pay to {v} by the 30th.", "iban {v}",
                "Our new account is {v}; the old one is closed.", "Kontonummer (IBAN): {v}", "IBAN/Account: {v}",
                "Wire to {v} quoting the order number."]  # fmt: skip
EMAIL_CONTEXT = ["Email: {v}", "Send the signed contract to {v}.", "Reply to {v} with the invoice.",
                 "cc {v} on the thread", "Contact: {v}", "Her address is {v}."]  # fmt: skip
SSN_CONTEXT = ["SSN: {v}", "Social Security number {v} on the W-2.", "SSN {v} verified.",
               "The applicant's social security no. is {v}.", "Tax ID (SSN): {v}"]  # fmt: skip
NINE_DIGIT_NEGATIVES = ["Routing number {v} (ABA)", "Passport no. {v}", "Order {v} shipped", "Tracking ID {v}",
                        "Employee number {v}"]  # fmt: skip
IP_CONTEXT = ["Login from IP {v} was blocked.", "Server {v} timed out.", "Client address: {v}",
              "Requests from {v} exceeded the rate limit.", "VPN endpoint {v}"]  # fmt: skip


# Layouts copied from real letterheads, invoices and statements (values randomised, check digits recomputed).
# Added last and measured before any detector change was made for them (see bench/curate/RESULTS.md).
REAL_PHONE_LAYOUTS = [
    "Tel +44 (0) 20 {4} {4}", "T +49 30 {7}", "phone: +1 (415) {3n}-{4} ext. {3}", "Tel/Fax: 030-{8}",
    "Tel. 0 30 / {2} {2} {2} {2}", "Mobil: 0170 {7}", "Ph. (02) {4} {4}", "Phone (+61) 2 {4} {4}",
    "Tel:+33{9}", "phone:+1-800-{3n}-{4}", "Toll-free: 1-800-{3n}-{4}", "tel: 020.{4}.{4}",
    "Telephone +353 1 {3} {4}", "Hotline 0800 {3} {4}", "Phone/WhatsApp: +234 803 {3} {4}",
    "Tel. +41 (0)44 {3} {2} {2}", "Tél : 01.{2}.{2}.{2}.{2}", "Tel (0)20 {4} {4}", "Call us: 1 800 {3n} {4}",
    "Telefoon: +31 (0)20 {3} {4}", "Ph: +61 4{2} {3} {3}", "Tel.: +43 1 {3} {2} {2}",
]  # fmt: skip
STRIPE_TEST_CARDS = ["4242424242424242", "4000056655665556", "5555555555554444", "2223003122003222",
                     "5200828282828210", "378282246310005", "371449635398431", "6011111111111117",
                     "6011000990139424", "3056930009020004", "36227206271667", "3566002020360505",
                     "6200000000000005", "6205500000000000004"]  # fmt: skip
REAL_CARD_LAYOUTS = ["Card No: {v}", "Card: {v} Exp: 12/26 CVV: ***", "VISA {v}", "Mastercard {v} (corporate)",
                     "Zahlung per Kreditkarte {v}", "Card number {v} - please update your billing details.",
                     "{v} exp 03/28"]  # fmt: skip
REAL_IBAN_LAYOUTS = ["IBAN: {v}", "IBAN:{v}", "IBAN No. {v}", "Bank: Barclays, IBAN {v}, BIC BARCGB22",
                     "Account (IBAN) {v}", "please remit to {v}"]  # fmt: skip
REAL_NEGATIVES = ["Sort code 20-00-00, BIC DEUTDEFF", "VAT ID DE{9}", "Company reg. no. {8}", "Tax number 12/345/{5}",
                  "Customer service hours 9:00-17:30", "Ref. 2024/11/{4}", "Order total €1.234,56",
                  "VISA ************{4}", "Card ending {4}, authorised 12.50 EUR", "Tel. opening hours 08:00 - 18:00",
                  "Phone order no. {3}-{3}-{4} received", "Fax cover page 1 of 3", "Registered in England No. {8}",
                  "Invoice date 2024-{2m}-15, due 2024-{2m}-30", "IMEI {15}", "Call reference {10} logged"]  # fmt: skip


def fill(rng: random.Random, layout: str) -> str:
    """Replace {n} by n random digits, {3n} by a NANP exchange (2-9 first), {2m} by a month."""
    out, i = [], 0
    while i < len(layout):
        if layout[i] == "{":
            j = layout.index("}", i)
            field = layout[i + 1 : j]
            if field == "2m":
                out.append(f"{rng.randint(1, 12):02d}")
            elif field.endswith("n"):
                out.append(d(rng, int(field[:-1]), "23456789"))
            else:
                out.append(d(rng, int(field)))
            i = j + 1
        else:
            out.append(layout[i])
            i += 1
    return "".join(out)


def _phone_value(line: str) -> str:
    """The phone part of a filled layout: from the first '+', '(' or digit after the label."""
    import re

    m = re.search(r"[+(\d][\d ()./\-+]*\d(?: ext\. \d+)?", line.split(":", 1)[-1] if ":" in line[:20] else line)
    return m.group(0)


def hard_negatives(rng: random.Random) -> list[tuple[str, str]]:
    """(family, sentence) with numbers that are NOT PII: ids after an id word, dates, amounts, decoys."""
    a, b, c = nanp(rng)
    bad_card = make_card(rng, "visa")
    bad_card = bad_card[:-1] + str((int(bad_card[-1]) + 3) % 10)  # Luhn fails
    bad16 = make_card(rng, "mastercard")  # 16 digits, check digit wrong
    bad16 = bad16[:-1] + str((int(bad16[-1]) + 5) % 10)
    bad_iban = make_iban(rng, rng.choice(["DE", "GB", "FR", "NL"]))
    bad_iban = bad_iban[:2] + f"{(int(bad_iban[2:4]) + 7) % 100:02d}" + bad_iban[4:]  # check digits wrong
    return [
        ("order", f"Order No. {a}-{b}-{c} ships on Tuesday."),
        ("order", f"Your order #{d(rng, 10)} has been dispatched."),
        ("order", f"Order number: {d(rng, 3)} {d(rng, 3)} {d(rng, 4)}"),
        ("invoice", f"Invoice {d(rng, 4)}-{d(rng, 6)} is overdue by 14 days."),
        ("invoice", f"Invoice no.: {d(rng, 10, '23456789')}"),
        ("invoice", f"Please quote invoice # {a}.{b}.{c} in the remittance."),
        ("policy", f"Policy number {d(rng, 3)}-{d(rng, 3)}-{d(rng, 4)} renews in June."),
        ("policy", f"Policy: {d(rng, 10, '23456789')}"),
        ("policy", f"Claim reference {d(rng, 4)} {d(rng, 4)} {d(rng, 4)} was approved."),
        ("ticket", f"Ticket {d(rng, 10, '23456789')} closed by the service desk."),
        ("ticket", f"Case ID: {a}-{b}-{c}"),
        ("po", f"PO {d(rng, 10, '4')} approved by procurement."),
        ("sku", f"SKU {d(rng, 3)}-{d(rng, 3)}-{d(rng, 4)} is back in stock."),
        ("serial", f"Serial no. {d(rng, 12)} registered."),
        ("tracking", f"Tracking number {d(rng, 4)} {d(rng, 4)} {d(rng, 4)} {d(rng, 4)} {d(rng, 4)} {d(rng, 2)}"),
        ("tracking", f"Shipment {d(rng, 12)} left the depot."),
        ("amount", f"Total due: ${rng.randint(1, 9)},{d(rng, 3)},{d(rng, 3)}.{d(rng, 2)}"),
        ("amount", f"EUR {rng.randint(10, 99)} {d(rng, 3)} {d(rng, 3)},00 transferred"),
        ("date", f"Meeting on 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} at 10:30."),
        ("date", f"Period {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2023 - {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2024"),
        ("decoy_card", f"Reference {bad_card[:4]} {bad_card[4:8]} {bad_card[8:12]} {bad_card[12:]} (test number)."),
        ("decoy_iban", f"The form showed {bad_iban}, which the bank rejected."),
        ("version", f"Upgraded to v{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)} last night."),
        ("zip", f"Ship to 1200 Market St, San Francisco, CA {d(rng, 5, '9')}-{d(rng, 4)}."),
        ("isbn", f"ISBN 978-{rng.randint(0, 9)}-{d(rng, 3)}-{d(rng, 5)}-{rng.randint(0, 9)}"),
        ("quantity", f"We shipped {rng.randint(1, 999)} {d(rng, 3)} units in Q{rng.randint(1, 4)}."),
        ("account_ref", f"Customer ID {d(rng, 10, '23456789')} updated."),
        ("booking", f"Booking reference {d(rng, 3)} {d(rng, 3)} {d(rng, 4)} confirmed."),
        # numbers near a phone or card word that are still not PII
        ("near_word", f"Call volume rose to {rng.randint(1, 9)} {d(rng, 3)} {d(rng, 3)} in 2023."),
        ("near_word", f"The phone bill came to {rng.randint(1, 9)},{d(rng, 3)},{d(rng, 3)} yen."),
        ("near_word", f"Mobile sales: {rng.randint(10, 99)}.{d(rng, 3)}.{d(rng, 3)} units"),
        ("near_word", f"Phone model X200 shipped {d(rng, 7, '123456789')} units last year."),
        ("near_word", f"Call about invoice {d(rng, 10, '23456789')} before Monday."),
        ("near_word", f"Card ending in {d(rng, 4)} was charged {rng.randint(2, 99)}.{d(rng, 2)} EUR."),
        ("near_word", f"Card number: **** **** **** {d(rng, 4)}"),
        ("near_word", f"Card number {'-'.join(bad16[i : i + 4] for i in range(0, 16, 4))} was rejected (checksum)."),
        ("near_word", f"Fax the form to the office by {rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2024."),
        ("near_word", f"Calls between {rng.randint(8, 11)}:{rng.choice(['00', '30'])} and {rng.randint(12, 17)}:00 only."),
    ]


# ---------------------------------------------------------------------------------------------- generation


def build(seed: int = SEED) -> tuple[list[dict], list[dict]]:
    from faker import Faker

    rng = random.Random(seed)
    # sorted: each locale's seed must not depend on set order (which PYTHONHASHSEED changes)
    fakers = {loc: Faker(loc) for loc in sorted(set(PHONE_LOCALES + IBAN_LOCALES + ["en_US"]))}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed + i)
    items: list[tuple[str, str, list[tuple[str, str]]]] = []  # (source, text, [(type, value)])

    def add(source: str, template: str, kind: str, value: str) -> None:
        items.append((source, template.replace("{v}", value), [(kind, value)]))

    us = fakers["en_US"]
    for _ in range(3):  # phones: every Faker locale, labelled and in prose
        for loc in PHONE_LOCALES:
            for _ in range(6):
                v = fakers[loc].phone_number()
                tpl = rng.choice(PHONE_LABELLED + PHONE_PROSE)
                if rng.random() < 0.15:
                    tpl = rng.choice(SIGNATURE).replace("{label}", rng.choice(PHONE_LABELLED))
                add(f"faker_phone:{loc}", tpl, "phone", v)
    for family in HAND_PHONE_FAMILIES:
        for _ in range(30):
            v = hand_phone(rng, family)
            tpl = rng.choice(PHONE_LABELLED if family in ("bare", "local") else PHONE_LABELLED + PHONE_PROSE)
            add(f"hand_phone:{family}", tpl, "phone", v)
    # phonenumbers' example numbers (Google's libphonenumber metadata) for 60 regions, last digits varied, in
    # national and international layout: formats neither we nor Faker wrote. Only in prose with a phone word.
    import phonenumbers as pn

    for region in PN_REGIONS:
        for number_type in (pn.PhoneNumberType.FIXED_LINE, pn.PhoneNumberType.MOBILE):
            example = pn.example_number_for_type(region, number_type)
            if example is None:
                continue
            for layout in (pn.PhoneNumberFormat.NATIONAL, pn.PhoneNumberFormat.INTERNATIONAL):
                nsn = str(example.national_number)
                example.national_number = int(nsn[:-3] + d(rng, 3))
                add(f"pn_phone:{region}", rng.choice(PHONE_LABELLED + PHONE_PROSE), "phone", pn.format_number(example, layout))
    for card_type in FAKER_CARD_TYPES:  # cards: Faker's schemes, then our IIN table
        for _ in range(30):
            v = us.credit_card_number(card_type)
            add(f"faker_card:{card_type}", rng.choice(CARD_CONTEXT), "card", v)
    for card_type in FAKER_CARD_TYPES:  # Faker's card summary: scheme line, holder, number and expiry
        for _ in range(8):
            block = us.credit_card_full(card_type)
            number = block.split("\n")[2].split(" ")[0]
            items.append((f"faker_card_full:{card_type}", block, [("card", number)]))
    for scheme in CARD_IIN:
        for _ in range(25):
            v = print_card(rng, make_card(rng, scheme))
            tpl = rng.choice(CARD_CONTEXT + CARD_BARE) if scheme not in ("maestro", "rupay", "mir") else rng.choice(CARD_CONTEXT)
            add(f"hand_card:{scheme}", tpl, "card", v)
    for loc in IBAN_LOCALES:  # IBANs: Faker's locales (valid only), then our own for 40 countries
        for _ in range(10):
            v = fakers[loc].iban()
            if not iban_ok(v) or len(v) != len(v[:2]) + 2 + sum(int(x) for x in _layout_counts(BBAN.get(v[:2], ""))):
                continue  # Faker prints some locales' IBANs at the wrong length: not a real IBAN
            add(f"faker_iban:{loc}", rng.choice(IBAN_CONTEXT), "iban", spaced4(v) if rng.random() < 0.5 else v)
    for style in ("upper_plain", "upper_spaced", "lower_plain", "lower_spaced", "mixed_spaced"):
        for _ in range(30):
            v = make_iban(rng, rng.choice(sorted(BBAN)))
            v = spaced4(v) if "spaced" in style else v
            v = v.lower() if style.startswith("lower") else v
            add(f"hand_iban:{style}", rng.choice(IBAN_CONTEXT), "iban", v)
    for _ in range(150):
        add("faker_email", rng.choice(EMAIL_CONTEXT), "email", fakers[rng.choice(PHONE_LOCALES)].email())
        add("faker_ssn", rng.choice(SSN_CONTEXT), "ssn", us.ssn())
        ip = rng.choice([us.ipv4_public(), us.ipv4_private(), us.ipv6()])
        add("faker_ip", rng.choice(IP_CONTEXT), "ip", ip)
    for _ in range(40):  # SSNs as typed into forms: spaced, dotted, run together (only ever after an SSN word)
        area = rng.choice([a for a in range(1, 900) if a != 666])
        parts = (f"{area:03d}", f"{rng.randint(1, 99):02d}", f"{rng.randint(1, 9999):04d}")
        v = rng.choice([" ", ".", ""]).join(parts)
        add("hand_ssn", rng.choice(SSN_CONTEXT), "ssn", v)
        items.append(("hand_negative:nine_digits", rng.choice(NINE_DIGIT_NEGATIVES).replace("{v}", "".join(parts)), []))
    for _ in range(30):  # a country code in parentheses before a national number
        a, b, c = nanp(rng)
        v = rng.choice([f"(+1) {a}-{b}-{c}", f"(+44) 20 {d(rng, 4)} {d(rng, 4)}", f"(+49) 30 {d(rng, 7)}"])
        add("hand_phone:cc_paren", rng.choice(PHONE_LABELLED + PHONE_PROSE), "phone", v)
    for _ in range(150):  # mixed lines: a contact block with two values
        name = us.name()
        phone, email = us.phone_number(), us.email()
        items.append(("mixed:contact", f"{name}\nEmail: {email}\nPhone: {phone}\n", [("email", email), ("phone", phone)]))
    for _ in range(40):  # hard negatives, several per round
        for family, text in hard_negatives(rng):
            items.append((f"hand_negative:{family}", text, []))
        # a phone beside an order number: the phone is PII, the order number is not
        a, b, c = nanp(rng)
        phone = hand_phone(rng, "us")
        items.append(("hand_negative:beside", f"Order {a}-{b}-{c}: call {phone} if the parcel is damaged.", [("phone", phone)]))

    for _ in range(8):  # real-world layouts (held out)
        for layout in REAL_PHONE_LAYOUTS:
            line = fill(rng, layout)
            items.append(("real:phone", line, [("phone", _phone_value(line))]))
        for card in STRIPE_TEST_CARDS:
            v = print_card(rng, card)
            items.append(("real:card", rng.choice(REAL_CARD_LAYOUTS).replace("{v}", v), [("card", v)]))
        for layout in REAL_IBAN_LAYOUTS:
            v = make_iban(rng, rng.choice(sorted(BBAN)))
            v = spaced4(v) if rng.random() < 0.5 else v
            items.append(("real:iban", layout.replace("{v}", v), [("iban", v)]))
        for layout in REAL_NEGATIVES:
            items.append(("real:negative", fill(rng, layout), []))

    lake, labels = [], []
    for i, (source, text, pii) in enumerate(items):
        split = "heldout" if source in HELDOUT_SOURCES or rng.random() < HELDOUT_FRACTION else "dev"
        row_id = f"pii-{i:05d}"
        lake.append({"id": row_id, "text": text, "meta": {"source": source, "split": split}})
        labels.append({"id": row_id, "pii": [{"type": t, "value": v} for t, v in pii]})
    return lake, labels


def _layout_counts(layout: str) -> list[str]:
    """The field widths of a BBAN layout ("4a14n" -> ["4", "14"])."""
    out, num = [], ""
    for ch in layout:
        if ch.isdigit():
            num += ch
        else:
            out.append(num)
            num = ""
    return out


def main() -> None:
    lake, labels = build()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rows in (("lake.jsonl", lake), ("labels.jsonl", labels)):
        with open(OUT / name, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
    n_held = sum(r["meta"]["split"] == "heldout" for r in lake)
    print(f"{len(lake)} rows ({len(lake) - n_held} dev, {n_held} heldout) -> {OUT}")


if __name__ == "__main__":
    main()
