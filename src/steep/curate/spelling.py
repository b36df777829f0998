"""English word lists for OCR repair and the OCR garbage score, loaded once from files that ship in PyPI
packages (nothing is downloaded):

- `is_word(w)`: `w` (lowercase) is a dictionary word: symspellpy's 82,765-word English dictionary (Google Books
  n-gram counts intersected with a spell-check word list), so OCR forms that are common on the web (`tbe`,
  `tlie`) are *not* words;
- `word_frequency(w)`: wordfreq's large English list (321k forms, web, books, subtitles and news): how often the
  form is written at all, OCR forms included (`tbe` 3.6e-7 against `the` 5.4e-2), 0.0 when unknown.

    from steep.curate.spelling import is_word, word_frequency
    is_word("kingfisher"), is_word("tbe")   # (True, False)
    word_frequency("the") > 1e-2            # True
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def dictionary_words() -> frozenset[str]:
    # One line per word: "the 23135851162". ~0.1 s, ~6 MB.
    text = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text("utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, float]:
    from wordfreq import get_frequency_dict  # ~0.3 s once; kept out of import time for `steep --help`

    return get_frequency_dict("en", "large")


def is_word(word: str) -> bool:
    """`word` (lowercase) is an English dictionary word."""
    return word in dictionary_words()


def word_frequency(word: str) -> float:
    """Share of English running text that is `word` (lowercase), 0.0 for a form never seen."""
    return _frequencies().get(word, 0.0)
