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
