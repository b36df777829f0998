"""The guard: rails on what reaches the served model and on what it may say back.

A fine-tuned domain model has read the company's documents, so it can repeat a deal codename, an account number or
an API key it saw in training. The guard sits in front of it, configured in `serve.guard`:

Input rails (`check_input`, before the engine runs):
- PII in the client's messages is redacted before the model sees it (`input.pii: redact`; curate's detectors,
  `steep.curate.pii.detect.find_pii`: checksum-validated cards and IBANs, emails, phones, accounts, secrets ...).
- Prompt-injection heuristics (`input.injection`): "ignore all previous instructions", "reveal your system prompt",
  "developer mode", plus the operator's `input.injection_patterns`. A heuristic, not a classifier.
- Topic boundary (`input.allowed_topics`): when set, the last user message must mention one of these phrases.
- Compliance: a message naming a blocked term or pattern is refused without calling the model (`check_input`).

Output rails (`scan_output` / `check_output`, and `steep.serve.stream.StreamGuard` for streamed replies):
- compliance terms and patterns: `blocked_terms`, `blocked_patterns`, plus curate's `compliance.terms` and
  `.patterns` copied in by the pipeline loader when `compliance_terms_from_curate` is true (the default), so a
  codename curate kept out of training is also kept out of replies without listing it twice;
- PII (`output.pii`) and secret leaks (`output.secrets`: API keys, private keys, passwords, URL credentials);
- business rules (`output.rules`: name, regex, action) and the legacy `redact_patterns` (placeholder -> regex).

Every rail has an action: `redact` (replace the match by a placeholder), `block` (replace the whole reply by
`refusal`, finish_reason "content_filter"), `flag` (let it through, count it in metrics and the audit log), or
`off`. Blocked terms match case-insensitively as whole words, in the raw text and in an NFKC-normalized copy
stripped of invisible characters (a zero-width space inside a codename does not slip through). Rule names
(`output.pii.card`, `input.injection`, `blocked_terms[0]`) are what metrics and the audit log record, never the
matched text. This is a string filter: a model told to spell a codename backwards gets past it.

    guard = Guard(GuardConfig(blocked_terms=["Project Falcon"]))
    guard.check_output("Mail jane@corp.com about it.").text   # 'Mail <EMAIL> about it.'
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, field_validator

from steep.chat import message_text
from steep.curate.config import ALL_PII_TYPES, PiiType
from steep.schema import Regex, StrictModel, check_regex

DEFAULT_REFUSAL = "I can't help with that."

Action = Literal["redact", "block", "flag"]
RailAction = Literal["redact", "block", "flag", "off"]
SECRET_TYPES: tuple[PiiType, ...] = ("secret", "url_credentials")
PERSONAL_TYPES: tuple[PiiType, ...] = tuple(t for t in ALL_PII_TYPES if t not in SECRET_TYPES)

# Invisible format characters (soft hyphen, zero-width space/joiners, bidi marks, word joiner, BOM) that render
# as nothing but split a word for a regex.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")

# The common shapes of "forget your instructions" attacks. Cheap and high precision on ordinary support traffic;
# a determined attacker paraphrases past them, so they are one layer, not the defence.
INJECTION_PATTERNS = (
    (
        r"(?i)\b(ignore|disregard|forget|override)\b[\w\s,]{0,30}\b(previous|prior|above|earlier|all|your|system)\b"
        r"[\w\s]{0,20}\b(instructions?|prompts?|rules|guidelines|directions)\b"
    ),
    r"(?i)\b(reveal|print|show|repeat|output|leak)\b[\w\s]{0,20}\b(system|hidden|initial)\s+(prompt|instructions?|message)\b",
    r"(?i)\byou\s+are\s+now\s+(in\s+)?(dan|developer\s+mode|jailbroken|unrestricted|unfiltered)\b",
    r"(?i)\b(developer|god|jailbreak)\s+mode\b",
    r"(?i)\bpretend\b[\w\s,]{0,40}\b(no|without)\s+(restrictions|rules|filters|guidelines)\b",
    r"(?i)<\|?(im_start|system|endoftext)\|?>",
)


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


def _normalized(text: str) -> str:
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


class BusinessRule(StrictModel):
    """An operator's own output rule: `{name: no-guarantees, pattern: '(?i)\\bguaranteed?\\b', action: flag}`."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    pattern: Regex
    action: Action = "block"
    placeholder: str = Field(default="<REDACTED>", min_length=1)

    @field_validator("pattern")
    @classmethod
    def _not_empty_match(cls, pattern: str) -> str:
        _compile_checked(pattern, "pattern")
        return pattern


class InputRails(StrictModel):
    """What is checked (and redacted) in the client's messages before the model sees them."""

    pii: RailAction = Field(default="redact", description="PII in messages: redact before the model sees it.")
    pii_types: list[PiiType] = Field(default_factory=lambda: list(ALL_PII_TYPES))
    injection: RailAction = Field(default="block", description="Prompt-injection heuristics on user messages.")
    injection_patterns: list[Regex] = Field(default_factory=list, description="Added to the built-in heuristics.")
    allowed_topics: list[str] = Field(
        default_factory=list,
        description="Phrases (whole words, any case: list plurals too); when set, the last user message must mention one.",
    )
    off_topic: Literal["block", "flag"] = "block"

    @field_validator("injection_patterns")
    @classmethod
    def _injection_compile(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            _compile_checked(pattern, f"injection_patterns[{index}]")
        return patterns


class OutputRails(StrictModel):
    """What is checked in the model's reply before it is sent (streamed replies included)."""

    pii: RailAction = Field(default="redact", description="Personal data (email, phone, card, IBAN, ...).")
    pii_types: list[PiiType] = Field(default_factory=lambda: list(PERSONAL_TYPES))
    secrets: RailAction = Field(default="redact", description="API keys, private keys, passwords, URL credentials.")
    compliance: Action = Field(default="block", description="blocked_terms / blocked_patterns (and curate's).")
    rules: list[BusinessRule] = Field(default_factory=list)


class GuardConfig(StrictModel):
    """The rails (see the module docstring). `GuardConfig()` redacts PII and secrets both ways, blocks common
    prompt injections, and blocks the compliance terms curate used."""

    blocked_terms: list[str] = Field(
        default_factory=list,
        description="Phrases (e.g. deal codenames) never to emit or discuss; case-insensitive, whole words.",
    )
    blocked_patterns: list[str] = Field(
        default_factory=list,
        description="Regexes (Python `re` syntax) with the same effect as blocked_terms; add (?i) for case.",
    )
    compliance_terms_from_curate: bool = Field(
        default=True,
        description="Add curate.compliance terms and patterns to blocked_terms / blocked_patterns (pipeline loader).",
    )
    refusal: str = Field(default=DEFAULT_REFUSAL, min_length=1, description="Sent instead of a blocked reply.")
    redact_patterns: dict[str, str] = Field(
        default_factory=dict,
        description="Placeholder -> regex; matches in replies are replaced by the placeholder.",
    )
    check_input: bool = Field(
        default=True,
        description="Also refuse requests whose messages contain a blocked term or pattern (without generating).",
    )
    input: InputRails = Field(default_factory=InputRails)
    output: OutputRails = Field(default_factory=OutputRails)
    stream_holdback_chars: int = Field(
        default=96,
        ge=0,
        # A card or IBAN is at most ~42 characters with spaces, a phone with its context word ~60: 96 covers a
        # value plus the context a recognizer needs. Streaming lags the model by this many characters.
        description="Streamed text is held back this many characters so a value split across chunks is caught.",
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

    def with_compliance(self, terms: Sequence[str], patterns: Sequence[str]) -> GuardConfig:
        """A copy with curate's compliance terms and patterns added (kept once each, configured ones first)."""
        new_terms = list(dict.fromkeys([*self.blocked_terms, *(t.strip() for t in terms if t.strip())]))
        new_patterns = list(dict.fromkeys([*self.blocked_patterns, *patterns]))
        return self.model_copy(update={"blocked_terms": new_terms, "blocked_patterns": new_patterns})


@dataclass(frozen=True)
class Finding:
    """One rule hit in a text: where, and what to do about it. Never logged with its text."""

    rule: str
    action: str
    start: int
    end: int
    placeholder: str = ""


@dataclass(frozen=True)
class GuardDecision:
    """The guard's verdict on a request or a reply.

    `text` is what to send: for `check_output`, the reply (redacted if needed) or the refusal; for `check_input`,
    the refusal when not allowed and "" otherwise. `messages` (check_input) are the messages to give the model,
    PII redacted. `reasons` are human-readable (`blocked_terms[0] in messages[1]`, `output.pii.card x2`);
    `counts` map (rule, action) to hits, for metrics and the audit log.
    """

    allowed: bool
    text: str
    reasons: list[str] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    messages: list[dict] | None = None


def apply_findings(text: str, findings: Sequence[Finding]) -> str:
    """`text` with every redact finding replaced by its placeholder; overlaps: the earliest, then longest, wins."""
    parts, last = [], 0
    for finding in sorted((f for f in findings if f.action == "redact"), key=lambda f: (f.start, -f.end)):
        if finding.start < last:
            continue
        # A function-free join, so a placeholder like "\\1" is inserted literally, never as a group reference.
        parts += [text[last : finding.start], finding.placeholder]
        last = finding.end
    parts.append(text[last:])
    return "".join(parts)


def count_findings(findings: Sequence[Finding]) -> dict[tuple[str, str], int]:
    return dict(Counter((f.rule, f.action) for f in findings))


class Guard:
    """Compiled form of a `GuardConfig`; cheap to call on every request (and on every streamed chunk)."""

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
        self._rules = [(rule, re.compile(rule.pattern)) for rule in config.output.rules]
        inputs = config.input
        self._injection = [re.compile(p) for p in (*INJECTION_PATTERNS, *inputs.injection_patterns)]
        self._topics = [_term_regex(topic) for topic in inputs.allowed_topics if topic.strip()]
        out = config.output
        self._output_types = (*(out.pii_types if out.pii != "off" else ()), *(SECRET_TYPES if out.secrets != "off" else ()))

    # ------------------------------------------------------------------------------------------- helpers

    def _blocked_entries(self, text: str) -> list[str]:
        views = (text,) if _normalized(text) == text else (text, _normalized(text))
        return [name for name, regex in self._blocked if any(regex.search(view) for view in views)]

    # ------------------------------------------------------------------------------------------- input

    def check_input(self, messages: Sequence[Mapping[str, Any]]) -> GuardDecision:
        """Refuse, redact or flag a request's messages (any role: the client sends all of them)."""
        cfg, inputs = self.config, self.config.input
        counts: Counter[tuple[str, str]] = Counter()
        reasons: list[str] = []
        blocked = False
        texts = [message_text(message) for message in messages]
        if cfg.check_input and self._blocked:
            for index, text in enumerate(texts):
                for name in self._blocked_entries(text):
                    reasons.append(f"{name} in messages[{index}]")
                    counts[(f"input.{name}", "block")] += 1
                    blocked = True
        if inputs.injection != "off":
            hits = sum(
                1 for m, text in zip(messages, texts) if m.get("role") == "user" and any(r.search(text) for r in self._injection)
            )
            if hits:
                reasons.append(f"input.injection x{hits}")
                counts[("input.injection", inputs.injection)] += hits
                blocked = blocked or inputs.injection == "block"
        if self._topics:
            last_user = next((t for m, t in zip(reversed(messages), reversed(texts)) if m.get("role") == "user"), "")
            if not any(topic.search(_normalized(last_user)) for topic in self._topics):
                reasons.append("input.topic outside allowed_topics")
                counts[("input.topic", inputs.off_topic)] += 1
                blocked = blocked or inputs.off_topic == "block"
        redacted = [dict(m) for m in messages]
        if inputs.pii != "off" and not blocked:
            from steep.curate.pii.detect import (
                find_pii,  # the recognizers compile on first use, not at import
            )
            from steep.curate.pii.redact import apply_spans

            for index, text in enumerate(texts):
                spans = find_pii(text, inputs.pii_types)
                for span in spans:
                    counts[(f"input.pii.{span.type}", inputs.pii)] += 1
                if spans:
                    reasons.append(f"input.pii x{len(spans)} in messages[{index}]")
                    if inputs.pii == "redact":
                        redacted[index]["content"] = apply_spans(text, spans)
            blocked = inputs.pii == "block" and any(rule.startswith("input.pii.") for rule, _ in counts)
        if blocked:
            return GuardDecision(False, cfg.refusal, reasons, dict(counts), None)
        return GuardDecision(True, "", reasons, dict(counts), redacted)

    # ------------------------------------------------------------------------------------------- output

    def scan_output(self, text: str) -> list[Finding]:
        """Every output rule hit in `text` (a whole reply, or a streamed reply so far)."""
        out = self.config.output
        findings: list[Finding] = []
        normalized = _normalized(text)
        for name, regex in self._blocked:
            hits = list(regex.finditer(text))
            if hits:
                findings += [Finding(name, out.compliance, m.start(), m.end(), "<REDACTED>") for m in hits]
            elif normalized != text and regex.search(normalized):
                # Found only once invisible characters are gone: there is no clean span to redact, so block.
                findings.append(Finding(name, "block", 0, len(text)))
        for placeholder, regex in self._redactions:
            findings += [Finding(f"redact_patterns[{placeholder!r}]", "redact", m.start(), m.end(), placeholder)
                         for m in regex.finditer(text)]  # fmt: skip
        if self._output_types:
            from steep.curate.pii.detect import find_pii
            from steep.curate.pii.redact import placeholder

            for span in find_pii(text, self._output_types):
                secret = span.type in SECRET_TYPES
                action = out.secrets if secret else out.pii
                rule = f"output.{'secret' if secret else 'pii'}.{span.type}"
                findings.append(Finding(rule, action, span.start, span.end, placeholder(span)))
        for rule, regex in self._rules:
            findings += [Finding(f"output.rule.{rule.name}", rule.action, m.start(), m.end(), rule.placeholder)
                         for m in regex.finditer(text)]  # fmt: skip
        return findings

    def check_output(self, text: str) -> GuardDecision:
        """Replace a reply that hits a block rule with the refusal; otherwise redact (and count flags)."""
        findings = self.scan_output(text)
        counts = count_findings(findings)
        reasons = [_reason(rule, count) for (rule, _action), count in counts.items()]
        if any(f.action == "block" for f in findings):
            return GuardDecision(False, self.config.refusal, reasons, counts)
        return GuardDecision(True, apply_findings(text, findings), reasons, counts)


def _reason(rule: str, count: int) -> str:
    if rule.startswith(("blocked_terms", "blocked_patterns")):
        return f"{rule} in output"
    return f"{rule} x{count}"
