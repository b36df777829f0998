"""Simulated users for multi-turn rollouts: the `UserSimulator` protocol and `ScriptedUser`.

The rs stage rolls out conversations between the model being trained and a simulated user, judges every
assistant turn, and keeps the good conversations as SFT data. The rollout loop is the same for any simulator:

    user = ScriptedUser(scenario)
    history = [{"role": "system", "content": system_prompt}]
    while (text := user.next_message(history)) is not None:
        history.append({"role": "user", "content": text})
        history.append({"role": "assistant", "content": generate(history)})

A simulator is stateless with respect to the conversation: everything it needs is in `history`. So a rollout
killed halfway resumes from its saved messages, and the same history always yields the same next message.

How an LLM-driven simulator (a later issue) plugs into the same protocol: `LLMUser(scenario, engine, ...)`
implements `next_message(history)` by flipping roles — the scenario's persona and topic become the user model's
system prompt, the assistant's messages become its "user" turns and the earlier user messages its own
"assistant" turns — then samples one message with a seed derived from (scenario.id, turn index) so replays are
reproducible. It returns None once its turn budget (a `max_turns` in its config) of user messages exists, or
when the model emits a stop marker such as `<END>`. Its first message should come from `scenario.user_turns[0]`
so the case id is stated exactly once, where the `remembers` rule expects it. Nothing else in the rollout loop
changes.

Scenarios on disk are JSONL, one `{id, case_id, persona, topic, user_turns}` object a line; `load_scenarios`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import Field, model_validator

from steep.chat import message_text
from steep.schema import StrictModel


class Scenario(StrictModel):
    """One scripted conversation: who the user is, what they want, and what they say, turn by turn.

    `case_id` (e.g. `CASE-01234`), when set, must appear in the first user turn: that is where a `remembers`
    rule looks for it, and later turns deliberately do not repeat it.
    """

    id: str = Field(min_length=1)
    case_id: str | None = None
    persona: str = ""
    topic: str = ""
    user_turns: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _case_id_stated_first(self) -> Scenario:
        if self.case_id and self.case_id not in self.user_turns[0]:
            raise ValueError(f"scenario {self.id}: case_id {self.case_id!r} must appear in the first user turn")
        return self


@runtime_checkable
class UserSimulator(Protocol):
    """Returns the next user message given the conversation so far, or None when the conversation is over."""

    def next_message(self, history: list[dict[str, Any]]) -> str | None: ...


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

    def next_message(self, history: list[dict[str, Any]]) -> str | None:
        said = [message_text(m) for m in history if m.get("role") == "user"]
        turns = self.scenario.user_turns
        if self.strict and said != turns[: len(said)]:
            raise ValueError(
                f"scenario {self.scenario.id}: history's user messages are not this script's first {len(said)} turns"
            )
        return turns[len(said)] if len(said) < len(turns) else None


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
