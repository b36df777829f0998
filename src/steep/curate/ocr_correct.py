"""Word-level OCR correction: a misread word goes back to the dictionary word an OCR engine most likely misread.

    from steep.curate.ocr_correct import correct_words
    correct_words("Tbe man was glad hereof,and 1 shaU go")  # 'The man was glad hereof, and I shall go'

How a token is treated (whitespace-separated, edge punctuation kept as written):

1. Only plain words are looked at: letters, possibly with a `0`/`1` misread inside (`rea1`), lowercase,
   Capitalised, or lowercase with a stray capital (`shaU`). ALL-CAPS tokens (IBAN, SKU), camelCase (iPhone,
   PayPal), and anything with other digits, `@`, `/`, `-`, `_` or an apostrophe (codes, emails, URLs, `don't`)
   are never touched, nor the piece after a word broken at a lost line end (`autho- rity`).
2. A token that is already a word stays: it is in the dictionary (`steep.curate.spelling.is_word`) or written
   often enough anywhere (`word_frequency >= keep_frequency`, 1e-6: names, brands and modern words that the
   dictionary lacks). OCR that lands on a real word (`modem` for `modern`, `tho` for `the`) is left alone:
   fixing it would need the sentence, and a wrong guess would damage clean text.
3. Candidates are dictionary words within one or two *OCR confusions* (`rn`<->`m`, `li`->`h`, `b`<->`h`,
   `c`<->`e`, `u`<->`n`, `ii`->`u`, `d`->`il`, `1`->`l`, long s `f`->`s`, `U`->`ll` ...; each with a log10
   cost), one plain edit (a substitution; an inserted or dropped letter costs more: OCR changes a letter's
   shape far more often than it adds one), or two common words the scanner ran together (`kingwas`).
4. Each candidate scores log10(frequency) + cost; the token's own score is log10(its frequency), a floor of
   1e-9 when never seen. The best candidate wins only when it beats the token by `margin` (log10 units) and
   the runner-up by `ambiguity`: a confidence margin, so `lnnd` is not guessed into `land`, `lind` or `lend`.
   Capitalised tokens (names) need `margin + capital_extra` and a confusion, never a plain edit: `Tbe` ->
   `The`, but `Hern` stays `Hern`. A form the document writes twice or more gets confusions only: a misread
   that recurs is a systematic one, a form spelled the same way twice is usually the author's (`himselfe`).
5. The case is put back: `Tbe` -> `The`, `shaU` -> `shall`, `Hke` -> `like` (the capital was the misread).
6. A lone `1` where the pronoun stands (`and 1 have`; symspellpy's bigram counts) becomes `I`; `Day 1 was`
   and `option 1 is` keep their number.

Measured on real OCR (ICDAR 2017, `bench/curate/ocr_real.py`, numbers in bench/curate/RESULTS.md); the costs and
margins were chosen on one half of those pages and checked on the other.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from steep.curate.spelling import is_word, pronoun_i_neighbours, word_frequency

# (what the scanner wrote, what was printed, log10 of how much likelier this misreading is than a plain edit
# made at random). Classic OCR confusions of Latin print: shapes that touch or break apart.
CONFUSIONS: tuple[tuple[str, str, float], ...] = (
    ("rn", "m", -1.0),
    ("m", "rn", -1.0),
    ("li", "h", -1.0),
    ("h", "li", -1.5),
    ("b", "h", -1.0),
    ("h", "b", -1.0),
    ("c", "e", -1.0),
    ("e", "c", -1.0),
    ("u", "n", -1.0),
    ("n", "u", -1.0),
    ("ii", "u", -1.0),
    ("ii", "n", -1.5),
    ("ii", "h", -1.0),
    ("d", "il", -1.0),  # `wdl`, `Mdes`: a broken `il`/`ll` closes up into a `d`
    ("d", "li", -1.0),
    ("d", "ll", -1.5),
    ("ri", "n", -1.5),
    ("in", "m", -1.5),
    ("i", "l", -1.0),
    ("l", "i", -1.0),
    ("t", "l", -1.5),
    ("l", "t", -1.5),
    ("1", "l", -0.5),
    ("1", "i", -1.0),
    ("0", "o", -0.5),
    ("f", "s", -1.0),  # long s (ſ) read as f: `fuch`, `firft`
    ("vv", "w", -1.0),
    ("cl", "d", -1.0),
    ("d", "cl", -1.0),
    ("o", "e", -1.5),
    ("e", "o", -1.5),
    ("a", "s", -1.5),
    ("s", "a", -1.5),
    ("U", "ll", -0.5),  # `shaU`, `aU`: the stray capital is the misread
    ("I", "l", -0.5),
    ("H", "li", -1.0),
    ("J", "j", -1.0),
)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_FLOOR = 1e-9  # frequency of a form never seen
_EDGE = "\"'“”‘’()[]{}<>.,;:!?*"
_TOKEN = re.compile(r"\S+")
_CORE = re.compile(r"^[A-Za-z][A-Za-z01]*[A-Za-z1]$")  # letters, a misread 0/1 inside or at the end
_RUN_ON = re.compile(r"^([A-Za-z]{2,})([,;])([a-z]{2,})$")  # `hereof,and`: the space after the comma was lost
# `autho- rity`: a word broken at a line end whose line break was lost; its pieces are not words to correct.
_AFTER_BROKEN_WORD = re.compile(r"[^\W\d_]-[ \t]+$")
_CAMEL = re.compile(r"[a-z][A-Z][a-z]|^[A-Z][a-z]+[A-Z]")  # iPhone, eBay, McDonald, PayPal: brands, not errors


@dataclass(frozen=True)
class CorrectorConfig:
    keep_frequency: float = 1e-6
    margin: float = 2.0
    ambiguity: float = 0.5
    capital_extra: float = 1.5
    substitute: float = -2.5  # log10 cost of one plain substitution
    insert_delete: float = -4.0  # one letter in or out, or two neighbours swapped: rarer in OCR than a misread
    split: float = -2.0  # a lost space (`kingwas`); scored as two words, so one word frequency is charged already
    split_min_frequency: float = 1e-5  # both halves of a split must be common words
    # Correct only a text whose lowercase words are mostly English dictionary words: another language, or
    # identifiers and pseudo-words, would be "corrected" into English. OCR with 7 % CER is ~90 % words.
    min_english_share: float = 0.5


def word_shape(core: str) -> str | None:
    """'lower', 'title', 'stray' (lowercase with a misread capital: `shaU`) or None for anything else (ALL-CAPS,
    camelCase, codes, other digits or marks)."""
    if not _CORE.match(core) or sum(c.isalpha() for c in core) < 2:
        return None
    letters = core.replace("0", "").replace("1", "")
    if letters.islower():
        return "lower"
    if core[0].isupper() and (len(letters) == 1 or letters[1:].islower()):
        return None if any(c in "01" for c in core) else "title"
    if core.isupper() or _CAMEL.search(core):
        return None
    if core[0].islower() and all(c in "UIHJ" for c in core if c.isupper()):
        return "stray"
    return None


def _confusion_variants(word: str) -> dict[str, float]:
    """Every string within one or two confusions of `word`, with the summed cost (the best way there)."""
    out: dict[str, float] = {}
    frontier = {word: 0.0}
    for _ in range(2):
        nxt: dict[str, float] = {}
        for form, cost in frontier.items():
            for wrong, right, c in CONFUSIONS:
                start = form.find(wrong)
                while start != -1:
                    variant = form[:start] + right + form[start + len(wrong) :]
                    total = cost + c
                    if total > nxt.get(variant, -math.inf):
                        nxt[variant] = total
                    start = form.find(wrong, start + 1)
        for form, cost in nxt.items():
            if cost > out.get(form, -math.inf):
                out[form] = cost
        frontier = nxt
    out.pop(word, None)
    return out


def _plain_edits(word: str) -> Iterator[tuple[str, bool]]:
    """(edited word, is a substitution) for every edit at distance one."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for a, b in splits:
        if b:
            yield a + b[1:], False
            for c in _LETTERS:
                yield a + c + b[1:], True
        if len(b) > 1:
            yield a + b[1] + b[0] + b[2:], False
        for c in _LETTERS:
            yield a + c + b, False


def _score(word: str) -> float:
    return math.log10(max(word_frequency(word), _FLOOR))


@lru_cache(maxsize=200_000)
def best_correction(core: str, cfg: CorrectorConfig = CorrectorConfig(), repeated: bool = False) -> str | None:
    """The correction of one token core (no edge punctuation), or None to leave it as written.

    `repeated`: the document writes this form more than once. A misread that recurs is a systematic one (the
    confusion table); a form spelled the same way twice and one plain edit from a word is more often the
    author's own spelling (`himselfe`, `onely`, a brand), so it gets confusion candidates only."""
    shape = word_shape(core)
    if shape is None:
        return None
    lower = core.lower()
    # A stray capital is itself the evidence of a misread (`aU` is not `au`): only the dictionary protects it.
    protected = is_word(lower) or (shape != "stray" and word_frequency(lower) >= cfg.keep_frequency)
    if "0" not in lower and "1" not in lower and protected:
        return None
    scored: dict[str, float] = {}
    lowered_capital: set[str] = set()  # `Hke` -> `like`: the capital itself was the misread (`li` -> `H`)
    for variant, cost in _confusion_variants(core).items():
        form = variant.lower()
        if is_word(form) and _score(form) + cost > scored.get(form, -math.inf):
            scored[form] = _score(form) + cost
            if shape == "title" and variant[0].islower():
                lowered_capital.add(form)
            else:
                lowered_capital.discard(form)
    if shape != "title" and not repeated:
        for form, substitution in _plain_edits(lower):
            if form != lower and is_word(form):
                cost = cfg.substitute if substitution else cfg.insert_delete
                scored[form] = max(scored.get(form, -math.inf), _score(form) + cost)
        for i in range(2, len(lower) - 1):
            left, right = lower[:i], lower[i:]
            if (
                is_word(left)
                and is_word(right)
                and word_frequency(left) >= cfg.split_min_frequency
                and word_frequency(right) >= cfg.split_min_frequency
            ):
                form = f"{left} {right}"
                scored[form] = max(scored.get(form, -math.inf), _score(left) + _score(right) + cfg.split)
    if not scored:
        return None
    ranked = sorted(scored.items(), key=lambda kv: -kv[1])
    best, best_score = ranked[0]
    needed = cfg.margin + (cfg.capital_extra if shape == "title" else 0.0)
    if best_score - _score(lower) < needed:
        return None
    if len(ranked) > 1 and best_score - ranked[1][1] < cfg.ambiguity:
        return None
    return best.capitalize() if shape == "title" and best not in lowered_capital else best


def _reads_as_english(counts: Counter[str], min_share: float) -> bool:
    lowercase = [(w, n) for w, n in counts.items() if w.isalpha() and w.isascii() and len(w) > 1]
    total = sum(n for _, n in lowercase)
    return total > 0 and sum(n for w, n in lowercase if is_word(w)) >= min_share * total


# Words that take a number after them: `Day 1 was`, `Step 1 is`, `per 1 and` keep their digit.
_TAKES_A_NUMBER = frozenset(
    "per no day one first int gamma night week month year page step phase part level version room "  # noqa: SIM905
    "chapter section item option type class grade figure table rule article floor number of to from by x".split()
)
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*$")


def _pronoun_ones(text: str, tally: dict | None) -> str:
    """`that 1 have` -> `that I have`: a lone `1` between words that stand around the pronoun I (symspellpy's
    bigram counts: `and I`, `I have`), or at a sentence start before such a word. Numbers elsewhere stay."""
    if " 1 " not in f" {text} ":
        return text
    before, after = pronoun_i_neighbours()
    tokens = list(_TOKEN.finditer(text))
    out, last = [], 0
    for i, match in enumerate(tokens):
        if match.group(0) != "1" or i + 1 == len(tokens):
            continue
        nxt = tokens[i + 1].group(0).rstrip(_EDGE)
        prev = tokens[i - 1].group(0) if i else "."
        prev_word = prev.strip(_EDGE)
        starts_sentence = bool(_SENTENCE_END.search(prev))
        if not (nxt.islower() and nxt.isalpha() and nxt in after):
            continue
        if not starts_sentence and not (prev_word.islower() and prev_word in before) or prev_word in _TAKES_A_NUMBER:
            continue
        out.append(text[last : match.start()] + "I")
        last = match.end()
        if tally is not None:
            tally["words_corrected"] = tally.get("words_corrected", 0) + 1
    return "".join(out) + text[last:] if out else text


def correct_words(text: str, cfg: CorrectorConfig = CorrectorConfig(), tally: dict | None = None) -> str:
    """`text` with each misread word replaced by its correction; spacing and punctuation as written."""

    tokens = _TOKEN.findall(text)
    counts = Counter(token.strip(_EDGE).lower() for token in tokens)
    if not _reads_as_english(counts, cfg.min_english_share):
        return text

    def fix(match: re.Match[str]) -> str:
        token = match.group(0)
        core = token.strip(_EDGE)
        if len(core) < 2 or _AFTER_BROKEN_WORD.search(text, 0, match.start()):
            return token
        run_on = _RUN_ON.match(core)
        if run_on and is_word(run_on.group(1).lower()) and is_word(run_on.group(3)):
            fixed: str | None = f"{run_on.group(1)}{run_on.group(2)} {run_on.group(3)}"
        else:
            fixed = best_correction(core, cfg, counts[core.lower()] > 1)
        if fixed is None:
            return token
        if tally is not None:
            tally["words_corrected"] = tally.get("words_corrected", 0) + 1
        start = token.find(core)
        return token[:start] + fixed + token[start + len(core) :]

    return _pronoun_ones(_TOKEN.sub(fix, text), tally)  # after the words: `1 shaU` -> `1 shall` -> `I shall`
