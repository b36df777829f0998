"""Simulated users for multi-turn rollouts: scenarios with goals and facts, and three simulators.

The rs stage rolls out conversations between the model being trained and a simulated user, judges them, and
keeps the good ones as SFT data. The rollout loop is the same for every simulator:

    user = TemplateUser(scenario, max_turns=12)
    history = [{"role": "system", "content": system_prompt}]
    while (turn := user.next_turn(history)).text is not None:
        history.append({"role": "user", "content": turn.text})
        history.append({"role": "assistant", "content": generate(history)})
    turn.end       # "goal_reached", "gave_up", "turn_limit" or "script_done"

Simulators:
- `ScriptedUser`: plays the scenario's user turns in order (the old behaviour; ends with "script_done").
- `TemplateUser`: offline and deterministic, but goal- and fact-aware: it states facts where the script does,
  asks them back where the scenario says, re-asks when the assistant's reply lacks the fact, gives up after
  `patience` misses in a row, ends when `goal_check` matches a reply or its agenda is done, or at `max_turns`.
- `ModelUser` (`steep.simulate.model_user`): a language model plays the user with the roles flipped; any engine
  with `generate_chat(conversations, generation, seed)` serves (the HF engine, an OpenAI-compatible endpoint).

A simulator is stateless with respect to the conversation: everything it needs is in `history`, so a rollout
killed halfway resumes from its saved messages, and the same history always yields the same next message.

Scenarios on disk are JSONL, one object a line (`load_scenarios`); the old `{id, case_id, persona, topic,
user_turns}` rows still load. Optional: `goal` (what the user wants, in words, for a model user and for people
reading dialogues), `goal_check` (a regex: a reply that matches it reaches the goal) and `facts`:

    {"id": "s1", "case_id": "CASE-01234", "persona": "...", "topic": "...", "goal": "get the refund date",
     "user_turns": ["Hi, I'm Ana Ruiz, about case CASE-01234. ...", "...", "What was my case number again?"],
     "facts": [{"name": "customer_name", "value": "Ana Ruiz", "stated_at_turn": 1},
               {"name": "case_id", "value": "CASE-01234", "stated_at_turn": 1, "recall": "every_turn",
                "asked_at_turns": [3]}]}

A fact is stated in user turn `stated_at_turn` (1-based; its value must appear there). From that turn on it is
"due" on an assistant turn when `recall` is "every_turn" (a house convention, e.g. quoting the case number in
every answer) or when the user message just before asks it back (`asked_at_turns`, or a re-ask). A scenario's
`case_id` counts as a fact even when `facts` does not list it: `case_id`, stated at turn 1, due every turn (what
the `remembers` rule checks).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import Field, model_validator

from steep.chat import message_text
from steep.schema import Regex, StrictModel

EndReason = Literal["goal_reached", "gave_up", "turn_limit", "script_done"]


class ScenarioFact(StrictModel):
    """Something the user tells the assistant and expects it to keep: a name, a reference number, a constraint."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    value: str = Field(min_length=1)
    stated_at_turn: int = Field(1, ge=1, description="1-based user turn whose text states the value")
    recall: Literal["every_turn", "when_asked"] = "when_asked"
    asked_at_turns: list[int] = Field(default_factory=list, description="1-based user turns that ask it back")
    label: str = Field("", description="how the user names it when re-asking; default: the name, spaces for _")

    @property
    def spoken(self) -> str:
        return self.label or self.name.replace("_", " ")


class Scenario(StrictModel):
    """One conversation to simulate: who the user is, what they want, what they say and which facts they give.

    `case_id` (e.g. `CASE-01234`), when set, must appear in the first user turn: that is where a `remembers`
    rule looks for it, and later turns deliberately do not repeat it.
    """

    id: str = Field(min_length=1)
    case_id: str | None = None
    persona: str = ""
    topic: str = ""
    goal: str = ""
    goal_check: Regex | None = None
    user_turns: list[str] = Field(min_length=1)
    facts: list[ScenarioFact] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict, description="free-form: provenance, `use_case` (synth writes both)")

    @model_validator(mode="after")
    def _facts_stated_where_they_say(self) -> Scenario:
        if self.case_id and self.case_id not in self.user_turns[0]:
            raise ValueError(f"scenario {self.id}: case_id {self.case_id!r} must appear in the first user turn")
        names = [f.name for f in self.facts]
        if len(set(names)) != len(names):
            raise ValueError(f"scenario {self.id}: duplicate fact names {names}")
        n = len(self.user_turns)
        for fact in self.facts:
            if fact.stated_at_turn > n or fact.value not in self.user_turns[fact.stated_at_turn - 1]:
                raise ValueError(
                    f"scenario {self.id}: fact {fact.name!r} value {fact.value!r} is not in user turn {fact.stated_at_turn}"
                )
            bad = [t for t in fact.asked_at_turns if not fact.stated_at_turn < t <= n]
            if bad:
                raise ValueError(f"scenario {self.id}: fact {fact.name!r} asked at turns {bad}, outside ({fact.stated_at_turn}, {n}]")
        return self

    @property
    def all_facts(self) -> list[ScenarioFact]:
        """`facts`, plus the case id as a fact (`case_id`, every turn) unless a listed fact already holds it."""
        if self.case_id and all(f.value != self.case_id for f in self.facts):
            return [ScenarioFact(name="case_id", value=self.case_id, recall="every_turn", label="case number"), *self.facts]
        return list(self.facts)

    def asks_at(self, agenda_turn: int) -> list[str]:
        """Names of the facts user turn `agenda_turn` (1-based) asks back."""
        return [f.name for f in self.all_facts if agenda_turn in f.asked_at_turns]


@dataclass(frozen=True)
class UserTurn:
    """A simulator's move: the next user message (text), or the end of the conversation (text None, end set).

    asks: names of the scenario's facts this message asks the assistant to give back (fact recall counts them)."""

    text: str | None
    end: EndReason | None = None
    asks: tuple[str, ...] = ()


@runtime_checkable
class UserSimulator(Protocol):
    """Returns the next user message given the conversation so far, or None when the conversation is over."""

    def next_message(self, history: list[dict[str, Any]]) -> str | None: ...


def _user_and_replies(history: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(user message, the assistant reply that follows it or None), in order; system messages ignored."""
    pairs: list[tuple[str, str | None]] = []
    for message in history:
        role = message.get("role")
        if role == "user":
            pairs.append((message_text(message), None))
        elif role == "assistant" and pairs and pairs[-1][1] is None:
            pairs[-1] = (pairs[-1][0], message_text(message))
    return pairs


def mentions(answer: str, value: str) -> bool:
    """Whether `answer` gives back `value`: case-insensitive, whitespace-normalized substring (so a name in
    another case or spread over a line break still counts, a wrong digit does not)."""
    norm = lambda s: " ".join(s.split()).casefold()  # noqa: E731
    return norm(value) in norm(answer)


class ScriptedUser:
    """Plays a `Scenario`'s user turns in order, one per call.

    The position is the number of user messages already in `history` (system and assistant messages are
    ignored), so the same object serves any number of conversations and resumes a saved one correctly.
    With `strict=True` (default) the user messages in `history` must be the script's own first turns; resuming
    one scenario's rollout with another scenario's script raises ValueError instead of silently mixing them.
    """

    def __init__(self, scenario: Scenario, strict: bool = True) -> None:
        self.scenario = scenario
        self.strict = strict

    @property
    def num_turns(self) -> int:
        return len(self.scenario.user_turns)

    def next_turn(self, history: list[dict[str, Any]]) -> UserTurn:
        said = [message_text(m) for m in history if m.get("role") == "user"]
        turns = self.scenario.user_turns
        if self.strict and said != turns[: len(said)]:
            raise ValueError(
                f"scenario {self.scenario.id}: history's user messages are not this script's first {len(said)} turns"
            )
        if len(said) >= len(turns):
            return UserTurn(None, "script_done")
        return UserTurn(turns[len(said)], asks=tuple(self.scenario.asks_at(len(said) + 1)))

    def next_message(self, history: list[dict[str, Any]]) -> str | None:
        return self.next_turn(history).text


_REASKS = (
    "Sorry, that doesn't answer it. What is my {what}?",
    "You didn't say. Can you tell me my {what}, please?",
    "No, I asked for my {what}. What is it?",
    "I still need my {what}. Could you give it to me?",
)


def _pick(options: tuple[str, ...], *key: object) -> str:
    """A deterministic choice (stable across processes, unlike `hash`), so a replay says the same thing."""
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


class TemplateUser:
    """A goal- and fact-aware user from templates: offline, deterministic, stateless over `history`.

    Its agenda is the scenario's `user_turns`. Before each message it replays the history: agenda turns said so
    far, and for every message that asked facts back whether the reply gave them (`mentions`). Then, in order:
    - goal reached: a reply matched the scenario's `goal_check` -> end "goal_reached";
    - gives up: `patience` replies in a row missed what was asked -> end "gave_up";
    - turn limit: `max_turns` user messages said -> end "turn_limit";
    - a missed ask is asked again (a re-ask template naming the fact), else the next agenda turn;
    - agenda done (every question asked, every ask answered) -> end "goal_reached".
    """

    def __init__(self, scenario: Scenario, max_turns: int = 12, patience: int = 2) -> None:
        if patience < 1 or max_turns < 1:
            raise ValueError("patience and max_turns must be >= 1")
        self.scenario = scenario
        self.max_turns = max_turns
        self.patience = patience
        self._facts = {f.name: f for f in scenario.all_facts}
        self._goal = re.compile(scenario.goal_check) if scenario.goal_check else None

    def _replay(self, history: list[dict[str, Any]]) -> tuple[int, tuple[str, ...], int, bool, int]:
        """(agenda turns said, facts still pending, misses in a row, goal reached, user messages said)."""
        agenda = self.scenario.user_turns
        position, pending, misses, goal = 0, (), 0, False
        pairs = _user_and_replies(history)
        for text, reply in pairs:
            if position < len(agenda) and text == agenda[position]:
                position += 1
                asked = tuple(self.scenario.asks_at(position))
            else:  # a re-ask: it asked for what was pending
                asked = pending
            if reply is None:
                break
            missing = tuple(name for name in asked if not mentions(reply, self._facts[name].value))
            misses, pending = (misses + 1, missing) if missing else (0, ())
            if self._goal is not None and self._goal.search(reply):
                goal = True
        return position, pending, misses, goal, len(pairs)

    def next_turn(self, history: list[dict[str, Any]]) -> UserTurn:
        position, pending, misses, goal, said = self._replay(history)
        if goal:
            return UserTurn(None, "goal_reached")
        if misses >= self.patience:
            return UserTurn(None, "gave_up")
        if said >= self.max_turns:
            return UserTurn(None, "turn_limit")
        if pending:
            what = " and ".join(self._facts[name].spoken for name in pending)
            return UserTurn(_pick(_REASKS, self.scenario.id, said, misses).format(what=what), asks=pending)
        if position < len(self.scenario.user_turns):
            return UserTurn(self.scenario.user_turns[position], asks=tuple(self.scenario.asks_at(position + 1)))
        return UserTurn(None, "goal_reached")

    def next_message(self, history: list[dict[str, Any]]) -> str | None:
        return self.next_turn(history).text


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read scenarios from JSONL (blank lines skipped); errors name the file and line."""
    scenarios = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                scenarios.append(Scenario.model_validate(json.loads(line)))
            except ValueError as err:  # json.JSONDecodeError and pydantic.ValidationError are ValueErrors
                raise ValueError(f"{path}:{lineno}: {err}") from err
    ids = [s.id for s in scenarios]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate scenario ids")
    return scenarios


__all__ = ["EndReason", "Scenario", "ScenarioFact", "ScriptedUser", "TemplateUser", "UserSimulator", "UserTurn", "load_scenarios", "mentions"]
