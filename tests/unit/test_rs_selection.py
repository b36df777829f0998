"""Rejection sampling mechanics of rs, with a scripted fake generator (no model): per-turn best-of-k, whole-
dialogue judging and keeping the best per scenario."""

from __future__ import annotations

import itertools

from steep.generate.config import GenerationConfig
from steep.generate.hf import GeneratedText
from steep.judge.rules import RulesJudge, RulesJudgeConfig
from steep.simulate.user import Scenario
from steep.stages.rs import keep_best
from steep.tasks.dialogue import judge_dialogues, roll_out

JUDGE = RulesJudge(RulesJudgeConfig.model_validate({"rules": [
    {"kind": "remembers", "name": "remembers_case", "pattern": r"CASE-\d{5}"},
    {"kind": "max_words", "name": "word_limit", "max": 6},
]}))
SCENARIO = Scenario(id="s1", case_id="CASE-12345", user_turns=["About case CASE-12345: hi", "next", "and then", "last"])


class CyclingGenerator:
    """Replies cycle through a fixed list, so which candidate is good is known in advance."""

    def __init__(self, replies):
        self.replies = itertools.cycle(replies)
        self.calls = 0

    def generate_chat(self, conversations, generation, seed=None):
        self.calls += 1
        return [GeneratedText(next(self.replies), 1, 1, "stop") for _ in conversations]


def test_per_turn_selection_keeps_the_judges_best_candidate():
    replies = ["a reply that is far too long to pass the limit", "CASE-12345 noted", "nothing here"]
    dialogues = roll_out(CyclingGenerator(replies), [SCENARIO], 1, 10, "", GenerationConfig(), 0, judge=JUDGE, candidates_per_turn=3)
    assistant = [m["content"] for m in dialogues[0]["messages"] if m["role"] == "assistant"]
    assert assistant == ["CASE-12345 noted"] * 4
    [verdicts] = judge_dialogues(JUDGE, dialogues)
    assert dialogues[0]["score"] == 1.0 and all(v.all_passed for v in verdicts)


def test_plain_rollouts_take_whatever_was_sampled_and_stop_with_the_script():
    generator = CyclingGenerator(["nothing here"])
    dialogues = roll_out(generator, [SCENARIO], 2, 10, "sys", GenerationConfig(), 0)
    assert generator.calls == 4  # one batched call per user turn, both rollouts together
    assert [m["role"] for m in dialogues[0]["messages"]] == ["system"] + ["user", "assistant"] * 4
    judge_dialogues(JUDGE, dialogues)
    assert dialogues[0]["score"] == 0.5 and len(dialogues[0]["turn_rationales"]) == 4
    assert dialogues[0]["judge"] == JUDGE.identity  # which judge scored it is recorded with the scores


def test_keep_best_per_scenario_is_deterministic():
    dialogues = [
        {"scenario_id": "a", "rollout": 0, "score": 0.5},
        {"scenario_id": "a", "rollout": 1, "score": 0.9},
        {"scenario_id": "a", "rollout": 2, "score": 0.9},
        {"scenario_id": "b", "rollout": 0, "score": 0.1},
    ]
    kept = keep_best(dialogues, 1)
    assert [(d["scenario_id"], d["rollout"]) for d in kept] == [("a", 1), ("b", 0)]
