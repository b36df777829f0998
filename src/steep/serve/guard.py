"""The output guard: what the served model must never say, and what it must never say verbatim.

A fine-tuned domain model has read the company's documents, so it can repeat a deal codename or an account
number it saw in training. The guard is the last line in front of the client:

- `blocked_terms`: phrases (deal codenames, internal project names) matched case-insensitively as whole words,
  with any run of whitespace between their words. A request that mentions one is refused without calling the
  model; a reply that contains one is replaced by `refusal`.
- `blocked_patterns`: regexes with the same effect, for what a phrase list cannot say
  (`(?i)\\bstrictly confidential\\b`, substring matches, formats).
- `redact_patterns`: placeholder -> regex; every match in a reply is replaced by the placeholder
  (`{"<ACCOUNT>": "\\\\b\\\\d{10}\\\\b"}`). Replies only: a user may quote their own account number.

Blocked terms and patterns are searched in the raw text and in an NFKC-normalized copy stripped of invisible
format characters, so full-width letters or a zero-width space inside a codename do not slip through. This is a
string filter, not a classifier: a model told to spell the codename backwards will get past it. Reasons name the
config entry (`blocked_terms[0] in messages[2]`), never the matched text, so logging them leaks nothing.

Used by `steep.serve.app`; on its own:

    guard = Guard(GuardConfig(blocked_terms=["Project Falcon"], redact_patterns={"<ACCOUNT>": r"\\b\\d{10}\\b"}))
    guard.check_output("Account 1234567890 is fine.").text  # 'Account <ACCOUNT> is fine.'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator

from steep.chat import message_text
from steep.schema import StrictModel, check_regex

DEFAULT_REFUSAL = "I can't help with that."

# Invisible format characters (soft hyphen, zero-width space/joiners, bidi marks, word joiner, BOM) that render
# as nothing but split a word for a regex.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def _compile_checked(pattern: str, where: str) -> re.Pattern[str]:
    """Compile `pattern`, or raise ValueError naming the config entry and the pattern."""
    try:
        compiled = re.compile(check_regex(pattern))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    # A pattern that matches "" matches at every position: it would block or redact everything.
    if compiled.fullmatch("") is not None:
        raise ValueError(f"{where} {pattern!r}: matches the empty string, so it would match everywhere")
    return compiled


def _term_regex(term: str) -> re.Pattern[str]:
    """A phrase as a regex: case-insensitive, whole words, any whitespace between its words."""
    words = unicodedata.normalize("NFKC", term).split()
    body = r"\s+".join(re.escape(word) for word in words)
    # Word boundaries only where the phrase itself starts/ends with a word character: "C++" or "#ops" keep
    # their punctuation edges and still match.
    head = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    tail = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return re.compile(head + body + tail, re.IGNORECASE)


def _matching_views(text: str) -> tuple[str, ...]:
    normalized = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return (text,) if normalized == text else (text, normalized)


class GuardConfig(StrictModel):
    """What the served model must never say (`blocked_*`) or never say verbatim (`redact_patterns`).

    All lists empty (the default) means the guard passes everything through unchanged.
    """

    blocked_terms: list[str] = Field(
        default_factory=list,
        description="Phrases (e.g. deal codenames) never to emit or discuss; case-insensitive, whole words.",
    )
    blocked_patterns: list[str] = Field(
        default_factory=list,
        description="Regexes (Python `re` syntax) with the same effect as blocked_terms; add (?i) for case.",
    )
    refusal: str = Field(
        default=DEFAULT_REFUSAL,
        min_length=1,
        description="The reply sent instead of a blocked request or reply.",
    )
    redact_patterns: dict[str, str] = Field(
        default_factory=dict,
        description="Placeholder -> regex; matches in replies are replaced by the placeholder.",
    )
    check_input: bool = Field(
        default=True,
        description="Also refuse requests whose messages contain a blocked term or pattern (without generating).",
    )

    @field_validator("blocked_terms")
    @classmethod
    def _terms_not_blank(cls, terms: list[str]) -> list[str]:
        for index, term in enumerate(terms):
            if not term.strip():
                raise ValueError(f"blocked_terms[{index}] is blank; a blank term would match everything")
        return [term.strip() for term in terms]

    @field_validator("blocked_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            _compile_checked(pattern, f"blocked_patterns[{index}]")
        return patterns

    @field_validator("redact_patterns")
    @classmethod
    def _redactions_compile(cls, redactions: dict[str, str]) -> dict[str, str]:
        for placeholder, pattern in redactions.items():
            if not placeholder:
                raise ValueError("redact_patterns has an empty placeholder; use something like '<ACCOUNT>'")
            _compile_checked(pattern, f"redact_patterns[{placeholder!r}]")
        return redactions


@dataclass(frozen=True)
class GuardDecision:
    """The guard's verdict on a request or a reply.

    `text` is what to send: for `check_output`, the reply (redacted if needed) or the refusal; for `check_input`,
    the refusal when not allowed and "" otherwise. `reasons` name the config entries that fired, e.g.
    `blocked_terms[0] in messages[1]` or `redact_patterns['<ACCOUNT>'] x2`; redactions alone keep `allowed` True.
    """

    allowed: bool
    text: str
    reasons: list[str] = field(default_factory=list)


class Guard:
    """Compiled form of a `GuardConfig`; cheap to call on every request."""

    def __init__(self, config: GuardConfig) -> None:
        self.config = config
        self._blocked: list[tuple[str, re.Pattern[str]]] = [
            (f"blocked_terms[{i}]", _term_regex(term)) for i, term in enumerate(config.blocked_terms)
        ] + [
            (f"blocked_patterns[{i}]", _compile_checked(pattern, f"blocked_patterns[{i}]"))
            for i, pattern in enumerate(config.blocked_patterns)
        ]
        self._redactions: list[tuple[str, re.Pattern[str]]] = [
            (placeholder, _compile_checked(pattern, f"redact_patterns[{placeholder!r}]"))
            for placeholder, pattern in config.redact_patterns.items()
        ]

    def _blocked_entries(self, text: str) -> list[str]:
        views = _matching_views(text)
        return [name for name, regex in self._blocked if any(regex.search(view) for view in views)]

    def check_input(self, messages: Sequence[Mapping[str, Any]]) -> GuardDecision:
        """Refuse a request if any message (any role: the client sends all of them) hits a blocked entry.

        Always allows when `config.check_input` is False.
        """
        if not self.config.check_input or not self._blocked:
            return GuardDecision(allowed=True, text="")
        reasons = [
            f"{name} in messages[{index}]"
            for index, message in enumerate(messages)
            for name in self._blocked_entries(message_text(message))
        ]
        if reasons:
            return GuardDecision(allowed=False, text=self.config.refusal, reasons=reasons)
        return GuardDecision(allowed=True, text="")

    def check_output(self, text: str) -> GuardDecision:
        """Replace a reply that hits a blocked entry with the refusal; otherwise redact it."""
        blocked = self._blocked_entries(text)
        if blocked:
            return GuardDecision(
                allowed=False, text=self.config.refusal, reasons=[f"{name} in output" for name in blocked]
            )
        reasons: list[str] = []
        for placeholder, regex in self._redactions:
            # A function replacement, so a placeholder like "\\1" or "<g>" is inserted literally, not as a
            # group reference.
            text, count = regex.subn(lambda _match, placeholder=placeholder: placeholder, text)
            if count:
                reasons.append(f"redact_patterns[{placeholder!r}] x{count}")
        return GuardDecision(allowed=True, text=text, reasons=reasons)
