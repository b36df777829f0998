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


# ---- whole-conversation scoring, fact recall, selection ----

import pytest  # noqa: E402

from steep.simulate import TemplateUser  # noqa: E402
from steep.stages.rs import RsConfig, select  # noqa: E402
from steep.tasks.dialogue import conversation_score  # noqa: E402
from steep.tasks.metrics import fact_checks, fact_recall, fact_recall_late, shingle_jaccard  # noqa: E402

CASE_FACT = {"name": "case_id", "value": "CASE-12345", "recall": "every_turn"}
NAME_FACT = {"name": "name", "value": "Ana Ruiz", "recall": "when_asked"}


def test_one_bad_turn_sinks_a_conversation():
    spiky = [1.0] * 11 + [0.0]
    steady = [0.75] * 12
    assert conversation_score(spiky, None, worst_turn_weight=0.0, fact_recall_weight=0.0) > 0.75  # the mean hides it
    assert conversation_score(spiky, None, worst_turn_weight=0.5, fact_recall_weight=0.0) == pytest.approx(0.5 * 11 / 12)
    assert conversation_score(spiky, None, worst_turn_weight=0.5, fact_recall_weight=0.0) < conversation_score(steady, None, worst_turn_weight=0.5, fact_recall_weight=0.0)
    assert conversation_score([0.5], 1.0, worst_turn_weight=0.0, fact_recall_weight=0.5) == 0.75


def test_judged_dialogue_records_its_worst_turn_and_fact_misses():
    generator = CyclingGenerator(["CASE-12345 noted", "far too many words for the limit here", "CASE-12345 ok"])
    dialogues = roll_out(generator, [SCENARIO], 1, 10, "", GenerationConfig(), 0)
    judge_dialogues(JUDGE, dialogues, worst_turn_weight=0.5, fact_recall_weight=0.25)
    d = dialogues[0]
    assert d["turn_scores"] == [1.0, 0.0, 1.0, 1.0]
    assert d["worst_turn"] == 2 and d["worst_turn_score"] == 0.0 and "remembers_case" in d["worst_turn_rationale"]
    assert d["fact_recall"] == 0.75 and d["fact_misses"] == [{"turn": 2, "fact": "case_id"}]
    assert d["score"] == pytest.approx(0.25 * 0.75 + 0.5 * 0.0 + 0.25 * 0.75)
    assert d["end_reason"] == "script_done"


def test_fact_recall_counts_due_facts_only():
    messages = [
        {"role": "user", "content": "Case CASE-12345."}, {"role": "assistant", "content": "For case CASE-12345: hi"},
        {"role": "user", "content": "I'm Ana Ruiz."}, {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "Who am I?"}, {"role": "assistant", "content": "ana  ruiz, case-12345"},
    ]  # fmt: skip
    checks = fact_checks(messages, [CASE_FACT, NAME_FACT], {"3": ["name"]})
    # the name is due only where it was asked; the case every turn; a match ignores case and spacing
    assert checks == [{"turn": 1, "fact": "case_id", "hit": True}, {"turn": 2, "fact": "case_id", "hit": False},
                      {"turn": 3, "fact": "case_id", "hit": True}, {"turn": 3, "fact": "name", "hit": True}]  # fmt: skip
    assert fact_recall([checks]) == 0.75
    assert fact_recall_late([checks], from_turn=3) == 1.0 and fact_recall_late([checks], from_turn=8) is None
    not_yet = fact_checks(messages[:2], [NAME_FACT], {"1": ["name"]})
    assert not_yet == []  # asked before it was ever stated: nothing to remember


def test_template_user_asks_are_recorded_for_fact_recall():
    scenario = Scenario(id="s2", case_id="CASE-12345", user_turns=["About CASE-12345: hi", "next", "my case?"],
                        facts=[{"name": "case_id", "value": "CASE-12345", "recall": "when_asked", "asked_at_turns": [3]}])  # fmt: skip
    dialogues = roll_out(CyclingGenerator(["no idea"]), [scenario], 1, 10, "", GenerationConfig(), 0,
                         make_user=lambda s: TemplateUser(s, max_turns=10, patience=2))  # fmt: skip
    d = dialogues[0]
    assert d["end_reason"] == "gave_up" and d["user_asks"] == {"3": ["case_id"], "4": ["case_id"]}
    judge_dialogues(JUDGE, dialogues)
    assert d["fact_recall"] == 0.0 and [m["turn"] for m in d["fact_misses"]] == [3, 4]



def _defaults(**kw):
    fields = {name: f.default for name, f in RsConfig.model_fields.items() if not f.is_required()}
    return RsConfig.model_construct(**{**fields, **kw})


def _d(sid, rollout, score, text="x"):
    return {"scenario_id": sid, "rollout": rollout, "score": score, "messages": [{"role": "assistant", "content": text}]}


def test_select_top_k_fraction_threshold_and_lists_scenarios_without_keeper():
    dialogues = [_d("a", i, s, f"answer {i} " * 3 + str(i)) for i, s in enumerate([0.2, 0.9, 0.6, 0.8])] + [_d("b", 0, 0.1), _d("b", 1, 0.2, "y")]
    found = select(dialogues, _defaults(keep="top_k", keep_per_scenario=1, min_score=0.5))
    assert [(d["scenario_id"], d["rollout"]) for d in found["kept"]] == [("a", 1)]
    assert found["without_keeper"] == ["b"] and {d["reject_reason"] for d in dialogues if d["scenario_id"] == "b"} == {"below_min_score"}
    found = select(dialogues, _defaults(keep="top_fraction", keep_fraction=0.5, min_score=0.0))
    assert [(d["scenario_id"], d["rollout"]) for d in found["kept"]] == [("a", 1), ("a", 3), ("b", 1)]
    found = select(dialogues, _defaults(keep="above_min_score", min_score=0.55))
    assert [d["rollout"] for d in found["kept"]] == [1, 3, 2] and dialogues[0]["reject_reason"] == "below_min_score"


def test_select_drops_near_duplicates_within_and_across_rounds_and_flags_ties():
    same = "Answer: For case CASE-12345: the fee is five pounds a month.\nSource: POL-0001"
    dialogues = [_d("a", 0, 0.9, same), _d("a", 1, 0.9, same + " Thanks"), _d("a", 2, 0.5, "something else entirely, said otherwise")]
    assert shingle_jaccard(same, same + " Thanks") > 0.8
    found = select(dialogues, _defaults(keep="top_fraction", keep_fraction=0.5, near_duplicate_jaccard=0.8))
    assert [d["rollout"] for d in found["kept"]] == [0, 2] and dialogues[1]["reject_reason"] == "near_duplicate"
    # a keeper of an earlier round blocks its near-duplicate in this one: the pool stays diverse
    found = select([_d("a", 0, 0.9, same)], _defaults(), pooled=[_d("a", 3, 0.9, same)])
    assert found["kept"] == [] and found["without_keeper"] == []
    tied = [_d("t", i, 0.5, f"reply number {i} is here") for i in range(4)]
    found = select(tied, _defaults())
    assert found["tied"] == ["t"] and all(d["tied"] for d in tied) and len(found["kept"]) == 1


def test_turns_the_judge_failed_stay_as_context_without_loss():
    from steep.stages.rs import training_messages

    dialogue = {"turn_scores": [1.0, 0.25, 0.75], "messages": [
        {"role": "system", "content": "s"}, {"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"}, {"role": "assistant", "content": "a2"},
        {"role": "user", "content": "u3"}, {"role": "assistant", "content": "a3"}]}  # fmt: skip
    chat = training_messages(dialogue, 0.75)
    assert [m.get("weight", 1) for m in chat if m["role"] == "assistant"] == [1, 0, 1]
    assert [m["content"] for m in chat] == [m["content"] for m in dialogue["messages"]]  # nothing dropped
    assert training_messages(dialogue, 0.0) == dialogue["messages"]
    assert training_messages({**dialogue, "turn_scores": [0.5, 0.25, 0.5]}, 0.75) is None  # no turn left to learn from


def test_fact_recall_spread_counts_scenarios_where_selection_can_raise_recall():
    from steep.stages.rs import fact_recall_spread

    dialogues = [
        {"scenario_id": "a", "fact_recall": 0.0}, {"scenario_id": "a", "fact_recall": 0.5},   # one candidate recalls
        {"scenario_id": "b", "fact_recall": 0.0}, {"scenario_id": "b", "fact_recall": 0.0},   # none does
        {"scenario_id": "c", "fact_recall": None},                                             # nothing was due
    ]
    assert fact_recall_spread(dialogues) == {"scenarios_with_due_facts": 2, "scenarios_with_recalling_candidate": 1}
    assert fact_recall_spread([]) == {"scenarios_with_due_facts": 0, "scenarios_with_recalling_candidate": 0}


def test_replay_draws_ratio_times_the_keepers_the_same_for_the_same_seed(tmp_path):
    import json

    import pytest

    from steep.stages.rs import ChatReplayConfig, replay_chats

    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}) + "\n" for i in range(10)))
    replay = ChatReplayConfig(files=[path], ratio=0.5)
    drawn = replay_chats(replay, 6, seed=1)
    assert len(drawn) == 3 and drawn == replay_chats(replay, 6, seed=1)
    assert len({m[0]["content"] for m in drawn}) == 3                      # without replacement
    assert len(replay_chats(ChatReplayConfig(files=[path], ratio=5), 6, seed=1)) == 10   # never more than there are
    path.write_text("\n" + json.dumps({"text": "not a chat"}) + "\n")
    with pytest.raises(ValueError, match=r"sft.jsonl:2 has no `messages`"):
        replay_chats(replay, 6, seed=1)
