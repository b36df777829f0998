"""Keyword-then-value search, fast: the keyword is found on the lowercased text by a case-sensitive literal
alternation (about 4x faster than scanning with `(?i)`, which defeats `re`'s first-character skip), then the
value is matched on the original text right where the keyword ends.

    PHONE_WORD = re.compile(r"(?:tel|phone|mobile)\\b")
    VALUE = re.compile(r"[ :]*(\\+?\\d[\\d ]{5,18}\\d)")
    [m.group(1) for m in after_word("Tel: +44 20 7946 0958", PHONE_WORD, VALUE)]  # ['+44 20 7946 0958']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@functools.lru_cache(maxsize=2)
def lowercase(text: str) -> str:
    """`text.lower()`, or, when that moves offsets (a few letters lowercase to two characters: İ), only A-Z
    lowered: keyword hits must sit at the same offsets as in `text`. Cached: several recognizers ask for it."""
    lower = text.lower()
    return lower if len(lower) == len(text) else text.translate(_ASCII_LOWER)


def after_word(text: str, keyword_lower: re.Pattern[str], value: re.Pattern[str]) -> Iterator[re.Match[str]]:
    """Matches of `value` right after a whole-word keyword (searched on the lowercased text)."""
    lower = lowercase(text)
    for k in keyword_lower.finditer(lower):
        if k.start() and lower[k.start() - 1].isalnum():
            continue
        m = value.match(text, k.end())
        if m:
            yield m
