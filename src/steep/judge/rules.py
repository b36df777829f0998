r"""The rules judge: business rules written in YAML, checked deterministically, no model needed.

Each rule is a small typed config discriminated by `kind`; the judge's score is the weighted share of rules an
answer passes, and the rationale names every failed rule and why. A pipeline YAML holds them like this:

    judge:
      rules:
        - {kind: regex_present, name: cites_policy, pattern: 'POL-\d{4}'}
        - {kind: contains, name: disclaimer, text: "This is general information, not financial advice."}
        - {kind: no_echo, name: no_account_echo, pattern: '\b\d{10}\b', weight: 2.0}
        - {kind: max_words, name: word_limit, max: 60}
        - {kind: min_words, name: substantive, min: 8, ignore_pattern: 'This is general information.*advice\.|Source: .*'}
        - {kind: format, name: house_format, pattern: 'Answer: .+\n(?:.*\n)*Source: POL-\d{4}'}
        - {kind: remembers, name: remembers_case, pattern: 'CASE-\d{5}'}
        - {kind: no_repeat, name: no_repeat}
        - {kind: no_pii, name: no_pii, types: [email, card, iban, secret]}

Every regex is compiled when the config is validated; a bad one fails before any work starts, with the pattern
and the `re` error in the message. Try it:

    PYTHONPATH=src python -c "from steep.judge.rules import *; \
      j = RulesJudge(RulesJudgeConfig(rules=[MaxWords(name='short', max=3)])); print(j.judge([], 'one two three four'))"

Semantics shared by `judge` and `judge_conversation`: the "prompt" of an assistant turn is every message before
it, so `judge(prompt, answer) == judge_conversation(prompt + [assistant answer])[-1]`. Conversation-scope rules
(`remembers`, `no_repeat`) therefore also work on single-turn prompts: `remembers` looks at the prompt's first
user message, and `no_repeat` passes when the prompt holds no earlier assistant turn.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from steep.chat import Message, message_text
from steep.curate.config import ALL_PII_TYPES, PiiType
from steep.judge.base import PointwiseJudge, Verdict
from steep.schema import StrictModel, check_regex

RegexFlagName = Literal["IGNORECASE", "MULTILINE", "DOTALL"]

# Rule names become metric keys (per-rule pass rates), so keep them plain identifiers.
RuleName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Weight = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


@functools.lru_cache(maxsize=256)
def compile_regex(pattern: str, flags: tuple[str, ...] = ()) -> re.Pattern[str]:
    """Compile once per (pattern, flags); rules are judged thousands of times per DPO round."""
    value = 0
    for flag in flags:
        value |= getattr(re, flag)
    return re.compile(pattern, value)


def _show(pattern: str, limit: int = 60) -> str:
    """A pattern as it appears in a rationale, shortened so one rationale stays one readable line."""
    return "/" + (pattern if len(pattern) <= limit else pattern[: limit - 3] + "...") + "/"


def normalize_whitespace(text: str) -> str:
    return " ".join(text.split())


def count_words(text: str) -> int:
    """Whitespace-separated tokens: what a reader would count, and independent of any tokenizer."""
    return len(text.split())


@dataclass(frozen=True)
class Turn:
    """One assistant answer and the messages before it; what every rule looks at."""

    prompt: Sequence[Message]
    answer: str

    @functools.cached_property
    def user_texts(self) -> list[str]:
        return [message_text(m) for m in self.prompt if m.get("role") == "user"]

    @functools.cached_property
    def earlier_assistant_texts(self) -> list[str]:
        return [message_text(m) for m in self.prompt if m.get("role") == "assistant"]


class _Rule(StrictModel):
    name: RuleName
    weight: Weight = 1.0

    # "answer": depends only on the answer and the user's words; "conversation": on earlier turns too.
    scope: ClassVar[Literal["answer", "conversation"]] = "answer"

    def check(self, turn: Turn) -> str | None:
        """None when the turn passes, otherwise why it fails (without the rule name)."""
        raise NotImplementedError


class _RegexRule(_Rule):
    pattern: Annotated[str, Field(min_length=1), AfterValidator(check_regex)]
    flags: list[RegexFlagName] = Field(default_factory=list)

    @property
    def regex(self) -> re.Pattern[str]:
        return compile_regex(self.pattern, tuple(self.flags))


class RegexPresent(_RegexRule):
    r"""Passes when the pattern matches somewhere in the answer (e.g. a policy ID `POL-\d{4}`)."""

    kind: Literal["regex_present"] = "regex_present"

    def check(self, turn: Turn) -> str | None:
        return None if self.regex.search(turn.answer) else f"no match for {_show(self.pattern)}"


class RegexAbsent(_RegexRule):
    """Passes when the pattern matches nowhere in the answer. The rationale gives the count, not the matched text,
    because what a forbidden pattern catches is often private (account numbers) and rationales are stored."""

    kind: Literal["regex_absent"] = "regex_absent"

    def check(self, turn: Turn) -> str | None:
        hits = sum(1 for _ in self.regex.finditer(turn.answer))
        return f"forbidden {_show(self.pattern)} matched {hits} time(s)" if hits else None


class Contains(_Rule):
    """Passes when the answer contains `text` (case-insensitive unless case_sensitive: true)."""

    kind: Literal["contains"] = "contains"
    text: str = Field(min_length=1)
    case_sensitive: bool = False

    def check(self, turn: Turn) -> str | None:
        if self.case_sensitive:
            found = self.text in turn.answer
        else:
            found = self.text.casefold() in turn.answer.casefold()
        return None if found else f"missing {self.text!r}"


class _WordCountRule(_Rule):
    """A word count, optionally of the answer's own content: `ignore_pattern` (a regex) is removed first, so
    boilerplate every answer must carry (a disclaimer, a `Source:` line) does not count as saying something."""

    ignore_pattern: Annotated[str | None, AfterValidator(lambda p: p if p is None else check_regex(p))] = None

    def words(self, answer: str) -> int:
        if self.ignore_pattern:
            answer = compile_regex(self.ignore_pattern).sub(" ", answer)
        return count_words(answer)


class MaxWords(_WordCountRule):
    """Passes when the answer has at most `max` whitespace-separated words."""

    kind: Literal["max_words"] = "max_words"
    max: int = Field(ge=1)

    def check(self, turn: Turn) -> str | None:
        n = self.words(turn.answer)
        return f"{n} words > {self.max}" if n > self.max else None


class MinWords(_WordCountRule):
    """Passes when the answer has at least `min` whitespace-separated words."""

    kind: Literal["min_words"] = "min_words"
    min: int = Field(ge=1)

    def check(self, turn: Turn) -> str | None:
        n = self.words(turn.answer)
        return f"{n} words < {self.min}" if n < self.min else None


class NoEcho(_RegexRule):
    r"""Fails when any match of `pattern` in the user's messages (all of them so far) appears in the answer.

    Narrower than regex_absent on purpose: `\b\d{10}\b` as no_echo forbids repeating the customer's account
    number, yet lets the assistant quote a 10-digit phone number from a policy. "Appears" is a substring test, so
    an echoed number is caught even when glued to other digits. Empty matches are ignored.
    """

    kind: Literal["no_echo"] = "no_echo"

    def check(self, turn: Turn) -> str | None:
        values = {m.group(0) for text in turn.user_texts for m in self.regex.finditer(text) if m.group(0)}
        echoed = [v for v in values if v in turn.answer]
        # The echoed values are withheld from the rationale: they are exactly what must not be written anywhere.
        if not echoed:
            return None
        return f"echoes {len(echoed)} value(s) from the user's messages matching {_show(self.pattern)}"


class Format(_RegexRule):
    """Passes when the whole answer, surrounding whitespace stripped, full-matches `pattern`.

    Stripping first means a trailing newline from decoding does not count as breaking the house format; use
    `flags: [MULTILINE]` for ^/$ per line and `[DOTALL]` to let `.` cross lines.
    """

    kind: Literal["format"] = "format"

    def check(self, turn: Turn) -> str | None:
        return None if self.regex.fullmatch(turn.answer.strip()) else f"does not full-match {_show(self.pattern)}"


class Remembers(_RegexRule):
    r"""Passes when the first match of `pattern` in the conversation's first user message appears in this turn.

    E.g. the case id `CASE-\d{5}` the user states once, at the start. When the first user message has no match
    there is nothing to remember and the rule passes.
    """

    kind: Literal["remembers"] = "remembers"
    scope: ClassVar[Literal["answer", "conversation"]] = "conversation"

    def check(self, turn: Turn) -> str | None:
        if not turn.user_texts:
            return None
        match = self.regex.search(turn.user_texts[0])
        if match is None or not match.group(0) or match.group(0) in turn.answer:
            return None
        return f"does not mention {match.group(0)!r} from the first user message"


class NoRepeat(_Rule):
    """Passes unless this turn equals an earlier assistant turn after whitespace normalization."""

    kind: Literal["no_repeat"] = "no_repeat"
    scope: ClassVar[Literal["answer", "conversation"]] = "conversation"

    def check(self, turn: Turn) -> str | None:
        this = normalize_whitespace(turn.answer)
        for k, earlier in enumerate(turn.earlier_assistant_texts, start=1):
            if normalize_whitespace(earlier) == this:
                return f"repeats assistant turn {k} verbatim"
        return None


class NoPii(_Rule):
    """Fails when curate's PII detectors (`steep.curate.pii.detect.find_pii`: checksum-validated cards and IBANs,
    emails, secrets, ...) find a value of one of `types` in the answer that the user did not type themselves.

    A value the user wrote (compared without spaces, dashes and dots, case-folded, so `DE89 3704...` typed and
    `de8937...` answered are the same) is theirs to see again; `no_echo` forbids that where it must be. The
    rationale gives types and counts, never the values: rationales are stored beside training data.
    """

    kind: Literal["no_pii"] = "no_pii"
    types: list[PiiType] = Field(default_factory=lambda: list(ALL_PII_TYPES), min_length=1)

    def check(self, turn: Turn) -> str | None:
        from steep.curate.pii.detect import find_pii  # the detectors load on first use, not when YAML validates

        typed = {_pii_key(s.text) for text in turn.user_texts for s in find_pii(text, types=self.types)}
        counts = Counter(s.type for s in find_pii(turn.answer, types=self.types) if _pii_key(s.text) not in typed)
        if not counts:
            return None
        return "found " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) + " not from the user"


def _pii_key(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value).casefold()


Rule = Annotated[
    RegexPresent | RegexAbsent | Contains | MaxWords | MinWords | NoEcho | Format | Remembers | NoRepeat | NoPii,
    Field(discriminator="kind"),
]

# pydantic puts the discriminator's value in an error's location: ('rules', 2, 'regex_present', 'pattern').
# A caller that prints YAML paths drops a location item that is one of these right after a list index.
RULE_KINDS: frozenset[str] = frozenset(
    cls.model_fields["kind"].default
    for cls in (RegexPresent, RegexAbsent, Contains, MaxWords, MinWords, NoEcho, Format, Remembers, NoRepeat, NoPii)
)


class RulesJudgeConfig(StrictModel):
    """`rules`: a non-empty list of rules with unique names. `kind: rules` is optional; it lets a judge config
    union (rules | openai_compat | hf_local | reward_model) pick this one."""

    kind: Literal["rules"] = "rules"
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> RulesJudgeConfig:
        counts = Counter(r.name for r in self.rules)
        duplicates = sorted(name for name, n in counts.items() if n > 1)
        if duplicates:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(duplicates)}")
        return self


class RulesJudge(PointwiseJudge):
    """The `Judge` built from a `RulesJudgeConfig`. Deterministic and thread-safe."""

    def __init__(self, config: RulesJudgeConfig) -> None:
        super().__init__()
        self.config = config
        self.identity = f"rules:{len(config.rules)}:" + ",".join(rule.name for rule in config.rules)
        self.rules = list(config.rules)
        self._total_weight = sum(r.weight for r in self.rules)

    def _verdict(self, turn: Turn) -> Verdict:
        passed: dict[str, bool] = {}
        reasons: list[str] = []
        earned = 0.0
        for rule in self.rules:
            why = rule.check(turn)
            passed[rule.name] = why is None
            if why is None:
                earned += rule.weight
            else:
                reasons.append(f"{rule.name}: {why}")
        # Weighted share: with weights (2, 1, 1) and only the first failing, score = (1 + 1) / 4 = 0.5.
        score = min(1.0, earned / self._total_weight)
        rationale = "; ".join(reasons) if reasons else f"all {len(self.rules)} rules passed"
        return Verdict(score=score, passed=passed, rationale=rationale)

    def judge(self, prompt: list[Message], answer: str) -> Verdict:
        """Judge `answer` as the assistant turn that follows `prompt` (all rules; see the module docstring)."""
        return self._verdict(Turn(prompt=list(prompt), answer=answer))

    def judge_conversation(self, messages: list[Message]) -> list[Verdict]:
        """One Verdict per assistant message, in order; turn k is judged against the messages before it."""
        return [
            self._verdict(Turn(prompt=messages[:i], answer=message_text(m)))
            for i, m in enumerate(messages)
            if m.get("role") == "assistant"
        ]


__all__ = [
    "Contains",
    "Format",
    "MaxWords",
    "MinWords",
    "NoEcho",
    "NoPii",
    "NoRepeat",
    "RegexAbsent",
    "RULE_KINDS",
    "RegexPresent",
    "Remembers",
    "Rule",
    "RulesJudge",
    "RulesJudgeConfig",
    "Turn",
    "compile_regex",
    "count_words",
]
