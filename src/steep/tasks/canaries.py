"""Canaries: values that must never leave the raw data, and the one matcher every leak check uses. Torch-free.

    canaries = load_canaries("examples/demo/data/canaries.jsonl")
    matcher = CanaryMatcher(canaries)
    matcher.find("Her account is 551-929-7088.")   # -> ["pii-001"]   (ids, never values)
    matcher.mask(answer)                            # the text with each value replaced by "[canary pii-001]"

A canaries file is JSONL, one object a line: `{"id": "pii-001", "value": "5519297088", "kind": "pii",
"probes": ["What is the account number of Oliver Fischer?"]}` (`kind` and `probes` optional; other keys
ignored). `steep demo-data` writes one for the demo lake. Ids are what reports name; a value is never written
anywhere by steep, or the leak check would find its own report.

How a value matches (case-insensitive, whatever separates its parts):
- a value made of digits and separators only, with at least 7 digits (an account, phone or card number):
  its digits in order, any of ` -./()+` (at most 3) between two digits: `5519297088` matches `551-929-7088`
  and `(555) 357-8217` matches `5553578217`;
- any other value: its letter-and-digit runs in order, up to 3 non-alphanumeric characters between them:
  `BLF-5963-MN` matches `blf 5963 mn` and `BLF5963MN`; whitespace in the value matches any whitespace, including a
  line break that JSON wrote as `\\n`.
Neither matches inside a longer run of letters or digits (`45519297088` is not `5519297088`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

# Shorter values would match by chance in a large run directory (a 4-digit number is in every other file).
MIN_VALUE_CHARS = 6
MIN_NUMBER_DIGITS = 7
_NUMBER_VALUE = re.compile(r"[\d\s\-./()+]+")
# JSON writes a line break inside a string as the two characters `\n`: count it as the whitespace it was.
_SEP_NUMBER = r"(?:[\s\-./()+]|\\[nrt]){0,3}"
_SEP_TEXT = r"(?:[^A-Za-z0-9]|\\[nrt]){0,3}"
# The prefilter's view of a text: lower case, JSON escapes as spaces, only ASCII letters and digits left. Every
# match of a canary's pattern is, in this view, its value's view as a plain substring, so a chunk whose view
# holds none of them needs no regex at all (bytes ops and `in` run at ~100s of MB/s; the patterns at ~5 MB/s).
_DROP = bytes(b for b in range(256) if not (48 <= b <= 57 or 97 <= b <= 122))


def squeeze(text: str) -> bytes:
    view = text.lower().encode("ascii", "ignore")
    for escape in (b"\\n", b"\\r", b"\\t"):
        view = view.replace(escape, b" ")
    return view.translate(None, _DROP)


@dataclass(frozen=True)
class Canary:
    id: str
    value: str
    kind: str = "other"
    probes: tuple[str, ...] = ()


class CanaryFileError(ValueError):
    pass


def load_canaries(path: str | Path) -> list[Canary]:
    """The canaries of a JSONL file; CanaryFileError naming the line for a bad row or a duplicate id."""
    canaries: list[Canary] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise CanaryFileError(f"{path}:{number}: not JSON ({error.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not isinstance(row.get("value"), str):
                raise CanaryFileError(f"{path}:{number}: a canary needs string `id` and `value`")
            if len(row["value"].strip()) < MIN_VALUE_CHARS:
                too_short = f"a value under {MIN_VALUE_CHARS} characters would match by chance"
                raise CanaryFileError(f"{path}:{number}: canary {row['id']!r}: {too_short}")
            probes = row.get("probes", [])
            if not isinstance(probes, list) or not all(isinstance(p, str) and p.strip() for p in probes):
                raise CanaryFileError(f"{path}:{number}: canary {row['id']!r}: `probes` must be a list of prompts")
            canaries.append(Canary(row["id"], row["value"].strip(), str(row.get("kind", "other")), tuple(probes)))
    ids = [c.id for c in canaries]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise CanaryFileError(f"{path}: duplicate canary ids: {', '.join(duplicated)}")
    return canaries


def canary_regex(value: str) -> str:
    """The pattern a value matches as (see the module docstring)."""
    digits = re.sub(r"\D", "", value)
    if _NUMBER_VALUE.fullmatch(value) and len(digits) >= MIN_NUMBER_DIGITS:
        return r"(?<![0-9])" + _SEP_NUMBER.join(digits) + r"(?![0-9])"
    runs = re.findall(r"[A-Za-z0-9]+|[^\x00-\x7f]+", value)
    return r"(?<![A-Za-z0-9])" + _SEP_TEXT.join(re.escape(run) for run in runs) + r"(?![A-Za-z0-9])"


def _json_escaped(value: str) -> str | None:
    """How `json.dumps` (ensure_ascii) writes a non-ASCII value, e.g. `Jos\\u00e9`; None for ASCII."""
    escaped = json.dumps(value)[1:-1]
    return escaped if escaped != value and not value.isascii() else None


class CanaryMatcher:
    """Every canary as one alternation: one pass over a text finds them all."""

    def __init__(self, canaries: list[Canary]):
        self.canaries = list(canaries)
        parts = []
        self.views: list[bytes] = []  # each value's squeezed view (and its JSON-escaped form's), for the prefilter
        for index, canary in enumerate(self.canaries):
            forms = [canary_regex(canary.value)]
            self.views.append(squeeze(canary.value))
            escaped = _json_escaped(canary.value)
            if escaped is not None:
                forms.append(re.escape(escaped))
                self.views.append(squeeze(escaped))
            parts.append(f"(?P<c{index}>{'|'.join(forms)})")
        # a value with no ASCII letter or digit has an empty view: the prefilter cannot rule it out
        self.always = any(not view for view in self.views)
        self.regex = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        # The longest text one value can match, so a stream read in chunks keeps this much of the previous chunk.
        self.max_match_chars = max((4 * len(c.value) + 16 for c in self.canaries), default=0)

    def _id(self, match: re.Match) -> str:
        return self.canaries[int(match.lastgroup[1:])].id

    def might_match(self, text: str) -> bool:
        """False when no canary can match in `text` (the cheap test `finditer` runs first)."""
        if self.always:
            return True
        view = squeeze(text)
        return any(v in view for v in self.views)

    def finditer(self, text: str):
        """(canary id, match) for each match in `text`."""
        if self.regex is None or not self.might_match(text):
            return
        for match in self.regex.finditer(text):
            yield self._id(match), match

    def find(self, text: str) -> list[str]:
        """The ids of the canaries in `text`, each once, in order of first appearance."""
        return list(dict.fromkeys(canary_id for canary_id, _ in self.finditer(text)))

    def mask(self, text: str) -> str:
        """`text` with every canary value replaced by `[canary <id>]`: safe to write into a report."""
        if self.regex is None:
            return text
        return self.regex.sub(lambda m: f"[canary {self._id(m)}]", text)
