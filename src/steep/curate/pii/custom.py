"""The operator's own PII types (`pii.custom` in the YAML): a regex, context words that must stand before a hit,
an optional validator, a placeholder. Compiled once; a recognizer is `text -> (start, end)` like the built-ins,
so `find_pii` resolves its hits together with ours and the scorer scores them under the type's name.

    from steep.curate.config import CustomPiiType
    mrn = CustomRecognizer(CustomPiiType(name="mrn", pattern=r"MRN-\\d{7}", context=["patient", "record"]))
    list(mrn("Patient record MRN-1234567 updated"))  # [(15, 26)]

Why context words: a company's identifier pattern (7 digits after a prefix) is often generic; requiring
"patient" / "medical record" before it is what keeps its precision. Context is searched case-insensitively in
the `context_window` characters before the hit, on the same line or not (records span lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from steep.curate.config import CustomPiiType
from steep.curate.pii.checksums import luhn_valid


def _mod97_valid(digits: str) -> bool:
    return len(digits) >= 2 and int(digits) % 97 == 1


class CustomRecognizer:
    def __init__(self, spec: CustomPiiType) -> None:
        self.spec = spec
        self.kind = spec.name
        self.placeholder = spec.placeholder or f"<{spec.name.upper()}>"
        self.pattern = re.compile(spec.pattern, re.IGNORECASE if spec.ignore_case else 0)
        self.group = "value" if "value" in self.pattern.groupindex else 0
        # Whole words only: "mrn" must not fire inside "mrna".
        words = sorted({w.strip().lower() for w in spec.context}, key=len, reverse=True)
        self.context = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)") if words else None

    def __call__(self, text: str) -> Iterator[tuple[int, int]]:
        lower = None
        for m in self.pattern.finditer(text):
            start, end = m.span(self.group)
            if start == end or not self._valid(m.group(self.group)):
                continue
            if self.context is not None:
                lower = lower if lower is not None else text.lower()
                window = lower[max(0, start - self.spec.context_window) : start] if len(lower) == len(text) else (
                    text[max(0, start - self.spec.context_window) : start].lower()
                )
                if not self.context.search(window):
                    continue
            yield start, end

    def _valid(self, value: str) -> bool:
        v = self.spec.validator
        if v is None:
            return True
        digits = "".join(c for c in value if c.isdigit())
        if v.digits is not None and not v.digits[0] <= len(digits) <= v.digits[1]:
            return False
        if v.length is not None and not v.length[0] <= len(value) <= v.length[1]:
            return False
        if v.checksum == "luhn" and not (digits and luhn_valid(digits)):
            return False
        return not (v.checksum == "mod97" and not _mod97_valid(digits))
