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


def _symspell_lines(name: str) -> list[str]:
    return resources.files("symspellpy").joinpath(name).read_text("utf-8").splitlines()


@lru_cache(maxsize=1)
def _dictionary_counts() -> dict[str, int]:
    # One line per word: "the 23135851162". ~0.1 s, ~6 MB.
    return {w: int(c) for w, c in (line.split(" ") for line in _symspell_lines("frequency_dictionary_en_82_765.txt"))}


@lru_cache(maxsize=1)
def dictionary_words() -> frozenset[str]:
    return frozenset(_dictionary_counts())


@lru_cache(maxsize=1)
def pronoun_i_neighbours(min_share: float = 0.01) -> tuple[frozenset[str], frozenset[str]]:
    """(words often before "I", words often after "I"): those for which "w I" (or "I w") makes at least
    `min_share` of all uses of w in symspellpy's bigram counts (`and I`, `I have`; not `of I`, `I more`)."""
    counts = _dictionary_counts()
    before, after = set(), set()
    for line in _symspell_lines("frequency_bigramdictionary_en_243_342.txt"):
        left, right, n = line.split(" ")
        if left == "i" and int(n) >= min_share * counts.get(right, 1 << 62):
            after.add(right)
        elif right == "i" and int(n) >= min_share * counts.get(left, 1 << 62):
            before.add(left)
    return frozenset(before), frozenset(after)


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
