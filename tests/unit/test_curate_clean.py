"""Text repair: ftfy + our OCR passes. Run: PYTHONPATH=src pytest tests/unit -q -k curate"""

from __future__ import annotations

import pytest

from steep.curate.clean import TextCleaner, clean_text
from steep.curate.config import CleanConfig
from steep.curate.document import Document

CLEAN_TEXT = """# Returns policy

Customers may return any item within 30 days. Refunds go to the original payment method.

Steps:

- Open the order page.
- Click "Return item" and choose a reason.
  - Damaged items need a photo.
1. Print the label.
2. Drop the parcel at any post office.

| item | days |
| --- | --- |
| shoes | 30 |

> Note: sale items are final.

```
curl -X POST  https://api.example.com/returns
    --data '{"id": 1}'
```

Questions? Write to the support team, we answer within one business day.
Total:
42"""


def test_mojibake_is_fixed():
    assert clean_text("Un cafÃ© au lait, s'il vous plaÃ®t.") == "Un café au lait, s'il vous plaît."


def test_curly_quotes_and_dashes_are_kept():
    text = "She said “yes” — and it’s final."
    assert clean_text(text) == text


def test_ligatures_and_long_s():
    assert clean_text("The ﬁrst ﬂoor oﬀice is eﬃcient, ſo the ﬂuﬀy cat baﬄes ﬆaﬀ.") == (
        "The first floor office is efficient, so the fluffy cat baffles staff."
    )


def test_dehyphenation_joins_broken_words():
    assert clean_text("The infor-\nmation was pro-\ncessed today.") == "The information was processed today."


def test_dehyphenation_keeps_real_compounds():
    # Uppercase after the break: not a broken word.
    assert clean_text("We met in the Franco-\nGerman office.") == "We met in the Franco-\nGerman office."
    # The hyphenated form is used elsewhere in the document: keep the hyphen, drop the line break.
    text = "A well-known issue. Another well-\nknown one."
    assert clean_text(text) == "A well-known issue. Another well-known one."


def test_page_numbers_and_running_headers_are_removed():
    text = (
        "ACME Corp — Refund Policy Manual\n"
        "Refunds are issued to the original payment\n"
        "method within five business days.\n"
        "Page 1 of 3\n"
        "\f"
        "ACME Corp — Refund Policy Manual\n"
        "Store credit is offered when the receipt is\n"
        "\n"
        "- 2 -\n"
        "\n"
        "missing.\n"
        "Page 2 of 3\n"
        "\f"
        "ACME Corp — Refund Policy Manual\n"
        "Gift cards are never refunded.\n"
        "Page 3 of 3"
    )
    assert clean_text(text) == (
        "Refunds are issued to the original payment method within five business days.\n\n"
        "Store credit is offered when the receipt is missing.\n\n"
        "Gift cards are never refunded."
    )


def test_increasing_bare_numbers_are_page_numbers():
    text = (
        "The warranty covers parts.\nIt lasts two years.\nLabour is extra.\n1\n"
        "Claims need a receipt.\nPhotos help.\nWe reply in a week.\n2\n"
        "Contact support for details."
    )
    out = clean_text(text)
    assert "\n1\n" not in out and "\n2\n" not in out
    assert "Labour is extra." in out and "Contact support for details." in out


def test_a_lone_number_in_clean_text_is_kept():
    assert clean_text("The answer is:\n42") == "The answer is:\n42"
    # A repeated short line without page structure is content, not a header.
    assert clean_text("Yes\nIs it open?\nYes") == "Yes\nIs it open?\nYes"


def test_hard_wrapped_lines_join_into_paragraphs():
    text = (
        "The customer reported that the device\n"
        "stopped charging after the update and the\n"
        "Berlin office confirmed it.\n"
        "\n"
        "A fix ships next week."
    )
    assert clean_text(text) == (
        "The customer reported that the device stopped charging after the update and the Berlin office "
        "confirmed it.\n\nA fix ships next week."
    )


def test_whitespace_is_normalized():
    text = "\n\nFirst  line\u00a0here.   \n\n\n\nSecond\u200b line.\t \n\n"
    assert clean_text(text) == "First line here.\n\nSecond line."


def test_clean_text_is_unchanged():
    assert clean_text(CLEAN_TEXT) == CLEAN_TEXT


@pytest.mark.parametrize(
    "text",
    [
        "cafÃ© infor-\nmation\nPage 1 of 2\n\fwrapped line that\ncontinues here.\n\n\n- 2 -",
        "Header\nbody text with the\nPage 1\nHeader\nrest of it\nPage 2",
        "a  b\n\n\n\nc-\nd ﬁ",
    ],
)
def test_clean_is_idempotent(text):
    once = clean_text(text)
    assert clean_text(once) == once


def test_passes_can_be_switched_off():
    cfg = CleanConfig(join_lines=False, dehyphenate=False)
    assert clean_text("infor-\nmation and\nmore", cfg) == "infor-\nmation and\nmore"
    assert clean_text("cafÃ©", CleanConfig(enabled=False)) == "cafÃ©"


def test_cleaner_block_counts_changes_and_keeps_examples():
    block = TextCleaner(CleanConfig(examples_in_report=1))
    docs = [Document("a", "cafÃ©"), Document("b", "fine text"), Document("c", "ﬁne")]
    out = list(block.run(docs))
    assert [d.text for d in out] == ["café", "fine text", "fine"]
    assert block.stats.counters["docs_changed"] == 2
    assert block.stats.seen == block.stats.kept == 3
    assert block.examples == [{"id": "a", "before": "cafÃ©", "after": "café"}]


def test_slash_page_numbers_but_not_24_7():
    text = "Support hours are posted online.\n24/7\nFirst page text ends here.\n1/2\nSecond page text.\n2/2"
    assert clean_text(text) == "Support hours are posted online.\n24/7\nFirst page text ends here.\n\nSecond page text."


def test_long_paginated_document_loses_every_running_header_and_page_number():
    # 2,000 pages, so repair that grows worse than linearly with the page count shows as a slow test; not
    # timed here (a wall-clock bound fails on a loaded machine)
    page = (
        "ACME Handbook · {n}\n{word} is a term that applies to every\nemployee in every office.\n\nPage {n} of 2000\n\f"
    )
    words = ["Term" + "".join(chr(65 + n // 26**k % 26) for k in range(3)) for n in range(2000)]  # no digits
    text = "".join(page.format(n=n + 1, word=w) for n, w in enumerate(words))
    out = clean_text(text)
    assert "ACME Handbook" not in out and "Page " not in out
    assert out.count("is a term that applies to every employee in every office.") == 2000
