"""How much OCR garbage a text still holds after repair, and how far a text is from its clean source.

`ocr_garbage_ratio(text)` is the share of whitespace-separated tokens (edge punctuation stripped) that look like
recognition errors rather than words, numbers or codes. A token is garbage when it is one of:

- a word with an OCR digit inside: a lowercase-or-capitalised word with one of 0 1 3 5 8 standing in for
  o l/i e s B (`rea1`, `t3xt`, `w0rd`, `0f`, `P0LICY`). Codes keep their digits in runs or after a separator
  (`POL-1342`, `4G`, `2nd`, `3pm`, `B2B`, `km-00001`), so they do not count;
- a number with the letter O in it (`2O20`, `£35O`): the scanner read a zero as a capital O;
- a run of 3+ mixed symbols (`\\@#%`, `&%![`): a run of one repeated symbol (`...`, `---`, `===`) is layout;
- a consonant-only token of 6+ letters (`wrthxgl`): no English word has none of a e i o u y. All-caps
  tokens are acronyms or codes and are left alone;
- a token with the Unicode replacement character (`\ufffd`): bytes that were lost on the way;
- a word no English text writes (dictionary and frequencies: `steep.curate.spelling`), said once in the text:
  lowercase and never seen (`isg`, `weeivid`), Capitalised and never seen (`Drbss`), ALL-CAPS of 4+ letters and
  never seen (`PKCEHBKR`), or lowercase with a stray capital (`shaU`, `aH`; not iPhone, gRPC). Only ASCII words
  (the word lists are English; `Brzęczyszczykiewicz` is a name they lack). Not
  counted: a word the text writes twice or more (a name, the text's own spelling: `Vandermast`, `Priour`), and
  a word one letter more or two letters swapped off a dictionary word (`keepe`: older spelling; `numebr`: a
  typist's slip, not a misread);
- a lone letter that is no one-letter word (`v`, `k`; `a`, `I`, `A`, `O`, `x` are fine) or a lone `.,;:'"!?`:
  speckle or a word split apart.

What it cannot see: confusions that leave a real word (`rn` -> `m`: `modem`/`modern`, `tho` for `the`); the score
is a floor on damage, not a count of every error. On real newspaper OCR it tracks the error rate (8 ICDAR 2017
periodical pages, 1.5-11 % CER: rank correlation 0.98, the ratio within a factor of ~1.5 of the CER); on 1590s
prose reprinted in 1858, names and spellings that occur once still count (bench/curate/RESULTS.md). On the demo
lake the clean documents score 0 % (see tests/unit/test_curate_ocr_quality.py).

`char_error_rate(hyp, ref)` is the Levenshtein distance divided by `len(ref)`: the standard OCR metric.

    ocr_garbage_ratio("The rea1 test of a w0rd")  # 0.333...
    char_error_rate("rea1 card", "real card")     # 0.111...
"""

from __future__ import annotations

import re
from collections import Counter

from steep.curate.ocr_correct import word_shape
from steep.curate.spelling import is_word, word_frequency

_TOKEN = re.compile(r"\S+")
_EDGE_PUNCT = "\"'“”‘’()[]{}<>.,;:!?*"
_OCR_DIGIT_IN_WORD = re.compile(
    r"^(?:[A-Za-z][a-z]*[01358][a-z]+"  # he1p, t3xt, w0rd, a1l
    r"|[A-Za-z][a-z]+[01358]"  # rea1, Mutua1
    r"|0[a-z]+"  # 0f, 0pened: a leading zero for O (3pm, 5th, 8am are real)
    r"|[A-Z]{2,}[0158][A-Z]{2,})$"  # P0LICY (SW1A-style codes have fewer letters on one side)
)
_O_IN_NUMBER = re.compile(r"^[£$€]?(?:\d[\d,.]*O[\dO,.]*|O[\dO,.]*\d[\dO,.]*)%?$")
_SYMBOL_RUN = re.compile(r"[^\w\s]{3,}")
_CONSONANT_ONLY = re.compile(r"^[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{6,}$")


def is_garbage_token(token: str, repeated: bool = False) -> bool:
    """True when `token` (one whitespace-separated piece) looks like an OCR error; see the module docstring.
    `repeated`: the text writes this word more than once, so a word unknown to the dictionary is a name or the
    text's own spelling (`Vandermast`, `Priour`), not a misread (which rarely comes out the same way twice)."""
    if len(token) == 1:
        return token in _LONE
    if token.isalpha():  # most tokens: only the word rules can apply (a fast path)
        consonants = len(token) >= 6 and not token.isupper() and bool(_CONSONANT_ONLY.match(token))
        return consonants or (not repeated and _is_non_word(token))
    if "\ufffd" in token:
        return True
    if "://" in token or token.startswith("www."):
        return False  # a URL: its `://` and path are not symbol soup
    for run in _SYMBOL_RUN.findall(token):
        if len(set(run)) > 1 and not _is_layout_run(run):
            return True
    word = token.strip(_EDGE_PUNCT)
    if not word:
        return False
    if _OCR_DIGIT_IN_WORD.match(word) or _O_IN_NUMBER.match(word):
        return True
    consonants = bool(_CONSONANT_ONLY.match(word)) and not word.isupper()
    return consonants or (not repeated and word.isalpha() and _is_non_word(word))


def _is_non_word(word: str) -> bool:
    """A word no English text writes (letters only; see the module docstring)."""
    lower = word.lower()
    if not word.isascii() or is_word(lower):
        return False  # the word lists are English: `Bhraonáin`, `Brzęczyszczykiewicz` are names they lack
    if word.islower():
        return word_frequency(lower) == 0.0 and not _is_variant(lower)
    if word.isupper():
        return len(word) >= 4 and word_frequency(lower) == 0.0  # `PKCEHBKR`; acronyms are written somewhere
    if word.istitle():
        return word_frequency(lower) == 0.0  # `Drbss`; names are written somewhere
    return word_shape(word) == "stray"  # `shaU`, `aH`; not iPhone, PayPal, gRPC


def _is_variant(word: str) -> bool:
    """One letter more (`keepe`, `onely`: a spelling of another age) or two neighbours swapped (`numebr`: a typist's
    slip) off a dictionary word: not a misread, which changes a letter's shape instead."""
    n = len(word)
    return any(is_word(word[:i] + word[i + 1 :]) for i in range(n)) or any(
        is_word(word[:i] + word[i + 1] + word[i] + word[i + 2 :]) for i in range(n - 1)
    )


# A letter that is no English one-letter word (`a`, `I`, `A`, `O` are; `x` is a dimension: `2 x 3`), or a mark
# that typeset prose always attaches to a word, standing alone between spaces: speckle or a word split apart.
# Dashes, `&`, `/`, `+`, `=` and bullets stand alone in business text and do not count.
_LONE = frozenset("bcdefghjklmnpqrstuvwyz.,;:'\"!?")


def _is_layout_run(run: str) -> bool:
    # Sentence ends next to quotes or brackets (`."),` `?!`), and `--->` arrows are prose, not noise.
    return set(run) <= set(".,;:!?\"'()[]“”‘’-–—>*")


def ocr_garbage_ratio(text: str) -> float:
    """Share of garbage tokens among all whitespace-separated tokens (0.0 for an empty text)."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return 0.0
    return len(ocr_garbage_tokens(text)) / len(tokens)


def ocr_garbage_tokens(text: str) -> list[str]:
    """The garbage tokens of `text`, in order (for reports and for checking the rules)."""
    tokens = _TOKEN.findall(text)
    counts = Counter(token.strip(_EDGE_PUNCT).lower() for token in tokens)
    return [token for token in tokens if is_garbage_token(token, counts[token.strip(_EDGE_PUNCT).lower()] > 1)]


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute: cost 1 each) between `a` and `b`.

    Myers' bit-parallel algorithm (Hyyro's formulation for edit distance) on Python integers: one bit per
    character of `a`, a handful of big-integer operations per character of `b`. A 3,000 x 3,000 pair costs
    3,000 steps on 3,000-bit integers (~5 ms) instead of the 9M cell updates (~2 s) of the textbook table.
    """
    if len(a) < len(b):
        a, b = b, a  # the longer string is the bit vector: fewer Python-level steps
    if not b:
        return len(a)
    peq: dict[str, int] = {}
    for i, ch in enumerate(a):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    mask = (1 << len(a)) - 1
    high = 1 << (len(a) - 1)
    pv, mv, score = mask, 0, len(a)
    for ch in b:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


def char_error_rate(hyp: str, ref: str) -> float:
    """Levenshtein distance from `hyp` to `ref` over `len(ref)`; an empty `ref` gives 0.0 or 1.0."""
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(hyp, ref) / len(ref)
