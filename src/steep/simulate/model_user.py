"""A language model plays the user: roles flipped, its own system prompt, sampled through any chat engine.

    engine = HFChatGenerator(model, tokenizer, "cpu")          # or steep.generate.openai_engine's, for an endpoint
    user = ModelUser(scenario, engine, generation, max_turns=12, seed=0)
    turns = next_turns([user, ...], [history, ...])            # one batched engine call for every model user

The user model sees a system prompt built from the scenario (persona, goal, the facts it may reveal, when to
stop) and the conversation with the roles swapped: the assistant's replies become its "user" messages and its
own earlier messages its "assistant" turns. The policy's system prompt is left out, and the user's system prompt
never enters `history`, so nothing of the simulator leaks into what the policy sees or is trained on.

Turns where the scenario states a fact or asks one back are played from the script (`user_turns[k]`), so facts
are given verbatim and recall is asked where the scenario says: the measure does not depend on the user model
remembering to ask. Everything else is sampled, seeded by the turn index, so a replay of the same history on the
same engine says the same thing (an HTTP endpoint is reproducible only as far as it honours `seed`).

The user ends the conversation by writing `end_marker` (goal reached) or `give_up_marker`; an empty message ends
it too ("gave_up"), and `max_turns` user messages end it with "turn_limit".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Union

from pydantic import Field

from steep.chat import message_text
from steep.schema import StrictModel
from steep.simulate.user import Scenario, ScriptedUser, TemplateUser, UserTurn

DEFAULT_INSTRUCTIONS = (
    "You are role-playing a customer talking to a support assistant. Stay in character and write only the "
    "customer's next message, one or two short sentences. Reveal the facts below when they fit, never invent "
    "others. When your goal is reached write {end}. If the assistant keeps failing you, write {give_up}."
)


class ScriptedUserConfig(StrictModel):
    """The scenario's user turns, in order (the old rs behaviour)."""

    kind: Literal["scripted"] = "scripted"


class TemplateUserConfig(StrictModel):
    """Offline goal/fact-aware user from templates (`TemplateUser`): re-asks missed facts, gives up, stops."""

    kind: Literal["template"] = "template"
    patience: int = Field(2, ge=1, description="replies in a row that miss an asked-back fact before the user gives up")


class ModelUserConfig(StrictModel):
    """A model plays the user: a local HF model (`backend: local`, `model: PATH or hub id`) or an
    OpenAI-compatible endpoint (`backend: openai`, `base_url`, `model`, key read from `api_key_env`)."""

    kind: Literal["model"] = "model"
    backend: Literal["local", "openai"] = "local"
    model: str = Field(min_length=1)
    base_url: str | None = None
    api_key_env: str | None = Field(None, description="environment variable holding the API key (never the key itself)")
    instructions: str = DEFAULT_INSTRUCTIONS
    end_marker: str = "<END>"
    give_up_marker: str = "<GIVE UP>"
    max_new_tokens: int = Field(64, ge=1)
    temperature: float = Field(0.8, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    timeout_s: float = Field(60.0, gt=0)


UserConfig = Annotated[Union[ScriptedUserConfig, TemplateUserConfig, ModelUserConfig], Field(discriminator="kind")]


class ModelUser:
    """See the module docstring. `engine.generate_chat(conversations, generation, seed)` returns objects with `.text`."""

    def __init__(self, scenario: Scenario, engine: Any, generation: Any, *, max_turns: int = 12, seed: int = 0,
                 instructions: str = DEFAULT_INSTRUCTIONS, end_marker: str = "<END>", give_up_marker: str = "<GIVE UP>") -> None:  # fmt: skip
        self.scenario = scenario
        self.engine = engine
        self.generation = generation
        self.max_turns = max_turns
        self.seed = seed
        self.end_marker = end_marker
        self.give_up_marker = give_up_marker
        self.instructions = instructions.format(end=end_marker, give_up=give_up_marker)
        facts = scenario.all_facts
        self._anchors = {f.stated_at_turn for f in facts} | {t for f in facts for t in f.asked_at_turns} | {1}

    def system_prompt(self) -> str:
        s = self.scenario
        lines = [self.instructions]
        if s.persona:
            lines.append(f"You are {s.persona}.")
        if s.topic:
            lines.append(f"Topic: {s.topic}.")
        if s.goal:
            lines.append(f"Your goal: {s.goal}.")
        facts = s.all_facts
        if facts:
            lines.append("Facts about you: " + "; ".join(f"{f.spoken}: {f.value}" for f in facts) + ".")
        return "\n".join(lines)

    def flipped(self, history: list[dict[str, Any]]) -> list[dict[str, str]]:
        """What the user model sees: its own system prompt, then the dialogue with user/assistant swapped."""
        swap = {"user": "assistant", "assistant": "user"}
        return [{"role": "system", "content": self.system_prompt()}] + [
            {"role": swap[m["role"]], "content": message_text(m)} for m in history if m.get("role") in swap
        ]

    def plan(self, history: list[dict[str, Any]]) -> UserTurn | list[dict[str, str]]:
        """A decided turn (scripted anchor or an end), or the flipped conversation to sample the next one from."""
        said = sum(1 for m in history if m.get("role") == "user")
        if said >= self.max_turns:
            return UserTurn(None, "turn_limit")
        if said + 1 in self._anchors and said < len(self.scenario.user_turns):
            return UserTurn(self.scenario.user_turns[said], asks=tuple(self.scenario.asks_at(said + 1)))
        return self.flipped(history)

    def finish(self, text: str) -> UserTurn:
        """The user turn a sampled text makes: the text, or an end when it carries a marker or is empty."""
        if self.give_up_marker in text:
            return UserTurn(None, "gave_up")
        if self.end_marker in text:
            return UserTurn(None, "goal_reached")
        text = text.strip()
        return UserTurn(text) if text else UserTurn(None, "gave_up")

    def turn_seed(self, history: list[dict[str, Any]]) -> int:
        return self.seed + sum(1 for m in history if m.get("role") == "user")

    def next_turn(self, history: list[dict[str, Any]]) -> UserTurn:
        return next_turns([self], [history])[0]

    def next_message(self, history: list[dict[str, Any]]) -> str | None:
        return self.next_turn(history).text


def next_turns(users: Sequence[Any], histories: Sequence[list[dict[str, Any]]]) -> list[UserTurn]:
    """Every simulator's next turn; model users that share an engine are sampled in one batched call."""
    turns: list[UserTurn | None] = [None] * len(users)
    queued: dict[int, list[tuple[int, list[dict[str, str]]]]] = {}
    for index, (user, history) in enumerate(zip(users, histories)):
        if isinstance(user, ModelUser):
            planned = user.plan(history)
            if isinstance(planned, UserTurn):
                turns[index] = planned
            else:
                queued.setdefault(id(user.engine), []).append((index, planned))
        else:
            turns[index] = user.next_turn(history)
    for group in queued.values():
        first = users[group[0][0]]
        replies = first.engine.generate_chat([conv for _, conv in group], first.generation, seed=first.turn_seed(histories[group[0][0]]))
        for (index, _), reply in zip(group, replies):
            turns[index] = users[index].finish(reply.text)
    return turns  # type: ignore[return-value]


def user_factory(config: Any, *, max_turns: int, seed: int = 0, engine: Any = None, generation: Any = None):
    """scenario -> simulator for a user config; a model user needs its `engine` and `generation` (built by the caller)."""
    if isinstance(config, ScriptedUserConfig):
        return lambda scenario: ScriptedUser(scenario)
    if isinstance(config, TemplateUserConfig):
        return lambda scenario: TemplateUser(scenario, max_turns=max_turns, patience=config.patience)
    if engine is None or generation is None:
        raise ValueError("a model user needs an engine and a generation config")
    return lambda scenario: ModelUser(
        scenario, engine, generation, max_turns=max_turns, seed=seed, instructions=config.instructions,
        end_marker=config.end_marker, give_up_marker=config.give_up_marker,
    )  # fmt: skip
