"""Splitting text into words for comparison: the two definitions curate uses, side by side so that a third is
not written by accident.

    hash_words("Ｃ++ über_all, Straße!")   # ['c++', 'über', 'all', 'strasse']  (dedup: exact hash, shingles)
    ngram_words("Ｃ++ über_all, Straße!")  # ['ｃ', 'über', 'all', 'straße']     (decontam: eval n-grams)

They differ on purpose, and each block's stored or compared results depend on its own:
- `hash_words` (`steep.curate.dedup`) removes only what does not change a document's meaning: Unicode NFKC
  (full-width and compatibility forms), casefold (`ß` -> `ss`), punctuation (category P*, `_` included).
  Symbols (`+`, `$`, `€`) stay part of a word, so "C++ for 5$" and "C for 5" stay different documents. It is
  the hot path of dedup, hence the byte-level tricks.
- `ngram_words` (`steep.curate.decontam`) keeps runs of letters and digits only (`lower()`, no NFKC, no
  casefold): an eval item quoted with other symbols around its words still shares its n-grams.
"""

from __future__ import annotations

import re
import unicodedata

# Punctuation is Unicode category P*. ASCII punctuation goes in one `bytes.translate` pass over the UTF-8 bytes (a
# multi-byte UTF-8 sequence uses only bytes >= 0x80, so no other character is touched); only the non-ASCII
# characters a document actually contains are looked up one by one. Same result as testing every character's
# category (checked over the whole BMP in the tests), ~4x faster on business text.
_ASCII_PUNCTUATION = bytes(c for c in range(128) if unicodedata.category(chr(c)).startswith("P"))
_ASCII_PUNCTUATION_TO_SPACE = bytes.maketrans(_ASCII_PUNCTUATION, b" " * len(_ASCII_PUNCTUATION))
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_LETTERS_AND_DIGITS = re.compile(r"[^\W_]+")


def hash_words(text: str) -> list[str]:
    """NFKC, casefolded words, split at whitespace and punctuation: what exact dedup hashes and near-dup shingles."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():  # casefold() == lower() on ASCII, and lower() is faster
        return text.lower().encode("ascii").translate(_ASCII_PUNCTUATION_TO_SPACE).decode("ascii").split()
    # surrogatepass: JSON can carry lone surrogates ("\ud800"); they are not punctuation and must survive.
    raw = text.casefold().encode("utf-8", "surrogatepass").translate(_ASCII_PUNCTUATION_TO_SPACE)
    text = raw.decode("utf-8", "surrogatepass")
    punctuation = [c for c in set("".join(_NON_ASCII_RUN.findall(text))) if unicodedata.category(c).startswith("P")]
    if len(punctuation) <= 8:  # usually a handful (’ “ ” – …): one fast replace each
        for char in punctuation:
            text = text.replace(char, " ")
    else:  # many kinds (CJK, a symbol table): one pass, ~100 ns per character
        text = text.translate(dict.fromkeys(map(ord, punctuation), " "))
    return text.split()  # str.split() and re's \s agree on what whitespace is


def ngram_words(text: str) -> list[str]:
    """Lowercase runs of letters and digits, everything else dropped: `"Don't!" -> ["don", "t"]` (decontam)."""
    return _LETTERS_AND_DIGITS.findall(text.lower())
