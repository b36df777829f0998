"""Lexicons for the gates: blocked phrases and regexes, from the YAML or from files, matched in one regex pass.

    matcher = PhraseMatcher(["Project Falcon", "Falcon 2"])
    matcher.search("notes on project\\n FALCON")  # Hit(entry='Project Falcon', text='project\\n FALCON', start=9)
    terms = read_lexicon(Path("blocked_terms.txt"))   # one entry per line; blank lines and `#` lines skipped

Phrases match case-insensitively as whole phrases (`falcon` does not fire on `falconry`), and the words of a
phrase may be separated by any whitespace (a line break in OCR text included).

Why a trie: Python's `re` tries the alternatives of `a|b|c|...` one after another at every position, so a plain
alternation of 10,000 terms costs ~10,000 comparisons per character. Folding the phrases into a trie first
(`project (?:falcon|kingfisher)`) makes the regex branch on one character at a time: the cost per position is
bounded by the longest phrase, not the number of phrases (measured: tests/unit/test_curate_gates.py).
Patterns are combined the same way where that is safe (no capturing groups, flags movable into a scoped
group); the rest are searched one by one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from steep.schema import check_regex

_SPACE = " "  # trie key for "one or more whitespace characters" between two words of a phrase
_END = ""  # trie key marking that a phrase ends here
_LEADING_FLAGS = re.compile(r"\(\?([imsx]+)\)")  # `(?i)` at the start: can become a scoped `(?i:...)` group


@dataclass(frozen=True)
class Hit:
    """One match: the lexicon entry as configured, the text it matched and the character offset of that text."""

    entry: str
    text: str
    start: int

    def describe(self, limit: int = 200) -> str:
        return f"matched {self.text[:limit]!r} at char {self.start}"


def read_lexicon(path: Path) -> list[tuple[int, str]]:
    """(line number, entry) for each entry of a lexicon file: one per line, surrounding spaces stripped, blank
    lines and lines starting with `#` skipped. Only whole-line comments: `#` may be part of a term or regex."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            entry = line.strip()
            if entry and not entry.startswith("#"):
                entries.append((number, entry))
    return entries


def check_lexicon_file(path: Path, kind: str) -> Path:
    """Fail (ValueError, for pydantic to report under the YAML path) if `path` is missing or holds a bad regex."""
    if not Path(path).is_file():
        raise ValueError(f"file not found: {path}")
    try:
        entries = read_lexicon(path)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if kind == "patterns":
        for number, pattern in entries:
            try:
                check_regex(pattern)
            except ValueError as err:  # the same message as a pattern in the YAML, plus where in the file
                raise ValueError(f"{path}:{number}: {err}") from None
    return path


def _fold(char: str) -> str:
    # Lower-case where that stays one character (the trie is case-insensitive); `İ`.lower() is two characters,
    # which IGNORECASE would not match back, so such a character stays as written.
    lower = char.lower()
    return lower if len(lower) == 1 else char


def _key(words: Sequence[str]) -> str:
    return _SPACE.join("".join(_fold(c) for c in w) for w in words)


def _trie_regex(node: dict) -> str:
    branches = []
    for char in sorted(k for k in node if k != _END):
        head = r"\s+" if char == _SPACE else re.escape(char)
        branches.append(head + _trie_regex(node[char]))
    if _END in node:
        # Longer phrases first (the branches), then "the phrase ends here": `Falcon 2` wins over `Falcon`.
        branches.append(r"(?!\w)")
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


class PhraseMatcher:
    """Case-insensitive whole-phrase search over many phrases in one regex pass (a trie-shaped regex)."""

    def __init__(self, phrases: Sequence[str]) -> None:
        self.phrases: dict[str, str] = {}  # folded key -> phrase as configured (the first spelling wins)
        trie: dict = {}
        for phrase in phrases:
            words = phrase.split()
            if not words:
                continue
            key = _key(words)
            if key in self.phrases:
                continue
            self.phrases[key] = phrase
            node = trie
            for char in key:
                node = node.setdefault(char, {})
            node[_END] = {}
        # (?<!\w) / (?!\w) instead of \b so a phrase that starts or ends in punctuation ("C++") still works.
        self._regex = re.compile(r"(?<!\w)" + _trie_regex(trie), re.IGNORECASE) if trie else None

    def __len__(self) -> int:
        return len(self.phrases)

    def search(self, text: str) -> Hit | None:
        """The leftmost match (the longest phrase at that position), or None."""
        if self._regex is None:
            return None
        m = self._regex.search(text)
        if m is None:
            return None
        matched = m.group(0)
        entry = self.phrases.get(_key(matched.split()))
        if entry is None:  # a case-insensitive match whose lower-case differs (rare Unicode): find it by hand
            entry = next(p for p in self.phrases.values() if _phrase_fullmatch(p, matched))
        return Hit(entry, matched, m.start())


def _phrase_fullmatch(phrase: str, text: str) -> bool:
    regex = r"\s+".join(re.escape(w) for w in phrase.split())
    return re.fullmatch(regex, text, re.IGNORECASE) is not None


class PatternMatcher:
    """Many regexes searched in as few passes as is safe; reports the pattern as configured."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(dict.fromkeys(patterns))
        combinable, self._alone = [], []
        for index, pattern in enumerate(self.patterns):
            scoped = _scoped(pattern)
            if scoped is None:
                self._alone.append((pattern, re.compile(pattern)))
            else:
                combinable.append(f"(?P<p{index}>{scoped})")
        self._combined = re.compile("|".join(combinable)) if combinable else None

    def search(self, text: str) -> Hit | None:
        """The leftmost match of the combined patterns, else the first other pattern that matches, or None."""
        if self._combined is not None:
            m = self._combined.search(text)
            if m is not None:
                # Combined patterns have no groups of their own, so `lastgroup` is the wrapper: which pattern hit.
                return Hit(self.patterns[int((m.lastgroup or "p0")[1:])], m.group(0), m.start())
        for pattern, regex in self._alone:
            m = regex.search(text)
            if m is not None:
                return Hit(pattern, m.group(0), m.start())
        return None


def _scoped(pattern: str) -> str | None:
    """The pattern rewritten to sit inside an alternation, or None if it must run alone: capturing groups would
    renumber (a backreference `\\1` would point at the wrong group), and global flags like `(?a)` cannot be scoped."""
    flags = _LEADING_FLAGS.match(pattern)
    body = pattern[flags.end() :] if flags else pattern
    scoped = f"(?{flags.group(1)}:{body})" if flags else f"(?:{body})"
    try:
        if re.compile(pattern).groups:
            return None
        re.compile(scoped)
    except re.error:  # e.g. a second global flag group later in the pattern
        return None
    return scoped
