"""ScriptedUser plays a scenario's user turns in order, statelessly.

Run: PYTHONPATH=src python -m pytest tests/unit/test_simulate.py -q
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from steep.simulate import Scenario, ScriptedUser, UserSimulator, load_scenarios

SCENARIO = Scenario(
    id="s1",
    case_id="CASE-00042",
    persona="impatient small-business owner",
    topic="duplicate card charge",
    user_turns=["CASE-00042: I was charged twice.", "When will it be refunded?", "Thanks."],
)


def test_returns_turns_in_order_then_none():
    user = ScriptedUser(SCENARIO)
    assert isinstance(user, UserSimulator)
    history: list[dict] = [{"role": "system", "content": "You are helpful."}]
    said = []
    while (text := user.next_message(history)) is not None:
        said.append(text)
        history += [{"role": "user", "content": text}, {"role": "assistant", "content": f"reply {len(said)}"}]
    assert said == SCENARIO.user_turns
    assert user.next_message(history) is None
    assert user.next_message(history) is None  # stays over


def test_stateless_and_resumable():
    user = ScriptedUser(SCENARIO)
    midway = [
        {"role": "user", "content": SCENARIO.user_turns[0]},
        {"role": "assistant", "content": "ok"},
    ]
    assert user.next_message(midway) == "When will it be refunded?"
    assert ScriptedUser(SCENARIO).next_message(midway) == "When will it be refunded?"  # a fresh one agrees
    assert user.next_message([]) == SCENARIO.user_turns[0]


def test_strict_rejects_another_scripts_history():
    foreign = [{"role": "user", "content": "Something else entirely."}]
    with pytest.raises(ValueError, match="not this script's first 1 turns"):
        ScriptedUser(SCENARIO).next_message(foreign)
    assert ScriptedUser(SCENARIO, strict=False).next_message(foreign) == "When will it be refunded?"


def test_scenario_validation():
    with pytest.raises(ValidationError, match="must appear in the first user turn"):
        Scenario(id="s", case_id="CASE-00001", user_turns=["hello", "CASE-00001"])
    with pytest.raises(ValidationError):
        Scenario(id="s", user_turns=[])
    with pytest.raises(ValidationError):
        Scenario.model_validate({"id": "s", "user_turns": ["hi"], "mood": "angry"})
    assert Scenario(id="s", user_turns=["hi"]).case_id is None


def test_load_scenarios(tmp_path):
    path = tmp_path / "scenarios.jsonl"
    path.write_text(json.dumps(SCENARIO.model_dump()) + "\n\n" + json.dumps({"id": "s2", "user_turns": ["hi"]}) + "\n")
    loaded = load_scenarios(path)
    assert [s.id for s in loaded] == ["s1", "s2"] and loaded[0] == SCENARIO
    path.write_text(json.dumps({"id": "s3"}) + "\n")
    with pytest.raises(ValueError, match="scenarios.jsonl:1"):
        load_scenarios(path)


# ---- goal- and fact-aware users ----

from steep.simulate import ModelUser, ScenarioFact, TemplateUser, next_turns  # noqa: E402

GOAL = Scenario(
    id="g1",
    case_id="CASE-00042",
    goal="get the refund date",
    user_turns=["Hi, I'm Ana Ruiz, case CASE-00042. I was charged twice.", "I can only pay by bank transfer.",
                "When is the refund?", "What was my case number again?"],
    facts=[ScenarioFact(name="customer_name", value="Ana Ruiz"),
           ScenarioFact(name="constraint", value="bank transfer", stated_at_turn=2, asked_at_turns=[3]),
           ScenarioFact(name="case_id", value="CASE-00042", recall="every_turn", asked_at_turns=[4], label="case number")],
)  # fmt: skip


def play(user, reply) -> tuple[list[dict], str]:
    """Run a user against `reply(history) -> str` until it stops; (history, end reason)."""
    history: list[dict] = []
    while (turn := user.next_turn(history)).text is not None:
        history += [{"role": "user", "content": turn.text}, {"role": "assistant", "content": reply(history)}]
    return history, turn.end


def test_template_user_reaches_its_goal_when_the_assistant_remembers():
    history, end = play(TemplateUser(GOAL, max_turns=12), lambda h: "For case CASE-00042: by bank transfer, soon.")
    assert end == "goal_reached"
    assert [m["content"] for m in history if m["role"] == "user"] == GOAL.user_turns  # no re-asks needed


def test_template_user_reasks_then_gives_up():
    history, end = play(TemplateUser(GOAL, max_turns=12, patience=2), lambda h: "I cannot say.")
    users = [m["content"] for m in history if m["role"] == "user"]
    assert end == "gave_up"
    assert users[:3] == GOAL.user_turns[:3] and "constraint" in users[3]  # turn 3 asked, missed, asked again
    assert len(users) == 4  # a second miss in a row: the user leaves


def test_template_user_stops_at_the_turn_limit_and_on_goal_check():
    _, end = play(TemplateUser(GOAL, max_turns=2), lambda h: "ok")
    assert end == "turn_limit"
    checked = GOAL.model_copy(update={"goal_check": r"refund on \d+ May"})
    history, end = play(TemplateUser(checked, max_turns=12), lambda h: "bank transfer CASE-00042, refund on 3 May")
    assert end == "goal_reached" and len([m for m in history if m["role"] == "user"]) == 1


def test_template_user_is_stateless_and_deterministic():
    history, _ = play(TemplateUser(GOAL, patience=3), lambda h: "no idea")
    for cut in range(0, len(history), 2):
        assert TemplateUser(GOAL, patience=3).next_turn(history[:cut]).text == history[cut]["content"]


def test_case_id_counts_as_a_fact_and_facts_must_be_stated():
    plain = Scenario(id="s", case_id="CASE-00001", user_turns=["About CASE-00001", "and?"])
    assert [(f.name, f.recall) for f in plain.all_facts] == [("case_id", "every_turn")]
    with pytest.raises(ValidationError, match="not in user turn 2"):
        Scenario(id="s", user_turns=["hi", "bye"], facts=[{"name": "n", "value": "Ana", "stated_at_turn": 2}])
    with pytest.raises(ValidationError, match="asked at turns"):
        Scenario(id="s", user_turns=["I'm Ana", "bye"], facts=[{"name": "n", "value": "Ana", "asked_at_turns": [1]}])


class EchoEngine:
    """Records what it was shown; replies with a fixed list, in order."""

    def __init__(self, replies):
        self.replies, self.seen = list(replies), []

    def generate_chat(self, conversations, generation, seed=None):
        self.seen += conversations
        return [type("R", (), {"text": self.replies.pop(0)})() for _ in conversations]


def test_model_user_flips_roles_keeps_its_prompt_private_and_stops_on_markers():
    engine = EchoEngine(["Thanks, all clear <END>"])
    user = ModelUser(GOAL, engine, generation=None, max_turns=12, seed=0)
    history = [{"role": "system", "content": "POLICY PROMPT"}]
    assert user.next_turn(history).text == GOAL.user_turns[0]  # a fact turn: from the script, no model call
    history += [{"role": "user", "content": GOAL.user_turns[0]}, {"role": "assistant", "content": "Noted."}]
    assert user.next_turn(history).text == GOAL.user_turns[1]  # states the constraint: scripted too
    history += [{"role": "user", "content": GOAL.user_turns[1]}, {"role": "assistant", "content": "Fine."}]
    history += [{"role": "user", "content": GOAL.user_turns[2]}, {"role": "assistant", "content": "Tomorrow."}]
    assert user.next_turn(history).text == GOAL.user_turns[3]  # asks the case back: scripted
    history += [{"role": "user", "content": GOAL.user_turns[3]}, {"role": "assistant", "content": "CASE-00042"}]
    turn = user.next_turn(history)
    assert turn.text is None and turn.end == "goal_reached"
    [shown] = engine.seen
    assert shown[0]["role"] == "system" and "get the refund date" in shown[0]["content"] and "Ana Ruiz" in shown[0]["content"]
    assert "POLICY PROMPT" not in str(shown)  # the policy's system prompt is not the user's business
    assert [m["role"] for m in shown[1:3]] == ["assistant", "user"]  # roles flipped
    assert all("refund date" not in m["content"] for m in history)  # and the user's prompt never reaches the policy


def test_model_users_sharing_an_engine_are_batched_and_give_up_on_marker():
    engine = EchoEngine(["<GIVE UP>", "How long?"])
    users = [ModelUser(Scenario(id=f"s{i}", user_turns=["hi", "x", "y"]), engine, None, max_turns=3) for i in range(2)]
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    turns = next_turns(users, [history, history])
    assert [t.end for t in turns] == ["gave_up", None] and turns[1].text == "How long?"
    assert len(engine.seen) == 2
    assert users[0].next_turn(history * 3).end == "turn_limit"
