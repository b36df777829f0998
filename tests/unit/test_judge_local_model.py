"""The `hf_local` judge: label probabilities, batched; both-order pairwise; cache; terms; configs that fail.

A tiny random model's probabilities are arbitrary, so the real-model tests assert structure (ranges, batched ==
unbatched, order symmetry, caching); the direction of a preference is checked with a stub model whose label
logits are forged from the text it reads.

Run: PYTHONPATH=src python -m pytest tests/unit/test_judge_local_model.py -q
"""

from __future__ import annotations

import re

import pytest
import torch
from pydantic import TypeAdapter, ValidationError

from steep.judge import JudgeConfig, LocalModelJudge, build_judge, build_training_judge, needs_training_terms
from steep.judge.local_model import LocalModelJudgeConfig
from steep.judge.terms import TermsRefused
from steep.pipeline.config import format_location

TERMS = {"allows_training_on_outputs": True, "source": "tests: a model built from scratch"}
PROMPT = [{"role": "user", "content": "How long does claim 12 take?"}]
ANSWERS = [
    "Answer: claim 12 settles in 4 working days.\nSource: POL-1012",
    "No idea.",
    "Policy 3 covers water damage up to 300 euros after a deductible of fifty.",
    "Claim 12 was settled within ten working days of the report. Answer: soon.",
    "The branch in town 5 opens at nine.",
]
GOOD = "Answer: claim 12 settles in 4 working days.\nSource: POL-1012"
BAD = "No idea, ask someone else."


def config(model_dir, **extra) -> LocalModelJudgeConfig:
    return TypeAdapter(JudgeConfig).validate_python({"kind": "hf_local", "path": str(model_dir), "device": "cpu", **extra})


@pytest.fixture(scope="module")
def judge(tiny_model_dir) -> LocalModelJudge:
    return build_judge(config(tiny_model_dir, batch_size=3))


# --- the real (tiny) model: structure --------------------------------------------------------------------------


def test_scores_are_expectations_in_range_and_batched_equals_unbatched(tiny_model_dir, judge):
    prompts = [PROMPT] * len(ANSWERS)
    batched = judge.judge_batch(prompts, ANSWERS)
    alone = build_judge(config(tiny_model_dir, batch_size=1))
    single = [alone.judge(PROMPT, a) for a in ANSWERS]
    assert all(0.0 <= v.score <= 1.0 for v in batched)
    assert [v.score for v in batched] == pytest.approx([v.score for v in single], abs=1e-5)
    assert alone.usage.calls == len(ANSWERS) and alone.usage.prompt_tokens > 0 and alone.usage.completion_tokens == 0
    # the expectation over the labels, not the argmax: recompute it from the label probabilities
    rows = alone.label_probabilities("pointwise", [alone._question(alone.rubric.pointwise, "Score:", PROMPT, answer=ANSWERS[0])])
    probs, mass = rows[0][:-1], rows[0][-1]
    assert sum(probs) == pytest.approx(1.0) and 0.0 < mass <= 1.0 + 1e-6
    assert batched[0].score == pytest.approx(sum(k * p for k, p in enumerate(probs)) / 9, abs=1e-5)
    assert "label_mass" in batched[0].rationale


def test_identity_names_the_model_content_and_the_rubric(tiny_model_dir, judge):
    assert re.fullmatch(r"hf_local:[^@]+@[0-9a-f]{12}:rubric=[0-9a-f]{12}", judge.identity)
    assert build_judge(config(tiny_model_dir, batch_size=3)).identity == judge.identity  # batch size: same verdicts
    assert build_judge(config(tiny_model_dir, criteria="Be rude.")).identity != judge.identity


def test_pairwise_is_batched_and_mirrors_when_the_answers_swap(tiny_model_dir, judge):
    triples = [(PROMPT, ANSWERS[i], ANSWERS[j]) for i, j in [(0, 1), (2, 3), (4, 0)]]
    batched = judge.compare_batch(triples)
    alone = build_judge(config(tiny_model_dir, batch_size=1))
    assert [c.rationale for c in batched] == [alone.compare(*t).rationale for t in triples]  # same probabilities
    swapped = judge.compare_batch([(p, b, a) for p, a, b in triples])
    mirror = {"a": "b", "b": "a", "tie": "tie"}
    for forward, backward in zip(batched, swapped):
        # asked in both orders, P(a better) for (b, a) is exactly 1 - P(a better) for (a, b)
        assert backward.winner == mirror[forward.winner] and backward.agreed == forward.agreed
        assert backward.confidence == pytest.approx(forward.confidence, abs=1e-6)
        assert 0.0 <= forward.confidence <= 1.0


def test_a_conversation_turn_is_judged_like_a_single_answer(judge):
    convo = [*PROMPT, {"role": "assistant", "content": ANSWERS[1]}, {"role": "user", "content": "And policy 3?"},
             {"role": "assistant", "content": ANSWERS[2]}]
    verdicts = judge.judge_conversation(convo)
    assert len(verdicts) == 2
    assert verdicts[1].score == pytest.approx(judge.judge(convo[:3], ANSWERS[2]).score, abs=1e-6)


def test_cache_answers_a_rerun_without_running_the_model(tiny_model_dir, tmp_path):
    first = build_judge(config(tiny_model_dir, cache_dir=str(tmp_path / "cache")))
    scores = [v.score for v in first.judge_batch([PROMPT] * 3, ANSWERS[:3])]
    assert first.usage.calls == 3
    again = build_judge(config(tiny_model_dir, cache_dir=str(tmp_path / "cache")))
    assert [v.score for v in again.judge_batch([PROMPT] * 3, ANSWERS[:3])] == scores
    assert again.usage.calls == 0 and again.usage.cache_hits == 3
    assert again._model is None  # the weights were never loaded


def test_a_long_conversation_is_cut_from_its_start(tiny_model_dir):
    judge = build_judge(config(tiny_model_dir, max_length=400))  # the rubric and answer alone: ~260 tokens
    long_prompt = [{"role": "user", "content": " ".join(f"Claim {i} was settled." for i in range(200))}]
    question = judge._question(judge.rubric.pointwise, "Score:", long_prompt, answer=ANSWERS[0])
    assert "[...]" in question and question.endswith("Score:") and ANSWERS[0] in question
    assert len(judge.tokenizer(question, add_special_tokens=False)["input_ids"]) <= 400
    assert 0.0 <= judge.judge(long_prompt, ANSWERS[0]).score <= 1.0 and judge.truncated == 0
    # answers longer than max_length itself: the question's end (answer, instruction, prefix) is what is kept
    tight = build_judge(config(tiny_model_dir, max_length=64))
    assert 0.0 <= tight.judge(long_prompt, ANSWERS[0]).score <= 1.0 and tight.truncated == 1
    assert tight.usage.prompt_tokens == 64


# --- a stub model with a known preference: direction ------------------------------------------------------------


class ForgedModel(torch.nn.Module):
    """Reads the question it is asked and puts all its next-token logit on the label a grader who wants a policy
    citation (`POL-`) would pick; `biased` always answers `A` whatever it reads (position bias)."""

    def __init__(self, tokenizer, biased: bool = False):
        super().__init__()
        self.tokenizer, self.biased = tokenizer, biased
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.label = lambda s: tokenizer(s, add_special_tokens=False)["input_ids"][0]

    def forward(self, input_ids, attention_mask, position_ids, **_):
        logits = torch.zeros(*input_ids.shape, len(self.tokenizer))
        for row, (ids, mask) in enumerate(zip(input_ids, attention_mask)):
            text = self.tokenizer.decode(ids[mask.bool()])
            if "Answer A:" in text:
                slot_a = text.split("Answer A:")[1].split("Answer B:")[0]
                label = "A" if self.biased or "POL-" in slot_a else "B"
                logits[row, -1, self.label(label)] = 8.0
            else:
                answer = text.split("Assistant's answer:")[1]
                logits[row, -1, self.label("9")] = 6.0 if "POL-" in answer else 0.0
                logits[row, -1, self.label("0")] = 0.0 if "POL-" in answer else 6.0
        return type("Out", (), {"logits": logits})()


def test_forged_preference_direction_pointwise_and_pairwise(tiny_model_dir):
    judge = build_judge(config(tiny_model_dir, batch_size=2))
    judge.set_model(ForgedModel(judge.tokenizer))
    good, bad = judge.judge_batch([PROMPT, PROMPT], [GOOD, BAD])
    assert good.score > 0.9 and bad.score < 0.1
    forward, backward = judge.compare_batch([(PROMPT, GOOD, BAD), (PROMPT, BAD, GOOD)])
    assert (forward.winner, forward.agreed) == ("a", True) and forward.confidence > 0.99
    assert (backward.winner, backward.agreed) == ("b", True)


def test_position_bias_is_a_tie_by_disagreement(tiny_model_dir):
    judge = build_judge(config(tiny_model_dir))
    judge.set_model(ForgedModel(judge.tokenizer, biased=True))
    comparison = judge.compare(PROMPT, GOOD, BAD)
    assert comparison.winner == "tie" and comparison.agreed is False and comparison.confidence == 0.0
    assert "disagree" in comparison.rationale


# --- terms and configs ---------------------------------------------------------------------------------------------


def test_training_needs_declared_terms_and_refuses_before_loading_weights(tiny_model_dir):
    bare = config(tiny_model_dir)
    assert needs_training_terms(bare)
    with pytest.raises(TermsRefused, match=r"^dpo\.judge: the judge hf_local:.*allows_training_on_outputs: true"):
        build_training_judge(bare, where="dpo.judge")
    judge = build_training_judge(config(tiny_model_dir, terms=TERMS), where="dpo.judge")
    assert judge._model is None  # building never reads the weights; the first question does
    assert build_judge(bare).identity == judge.identity  # evaluation-only use needs no terms


def test_bad_configs_name_their_yaml_path(tiny_model_dir, tmp_path):
    cases = [
        ({"kind": "hf_local", "path": str(tmp_path / "missing")}, "dpo.judge.path", "not a directory"),
        ({"kind": "hf_local", "path": str(tmp_path)}, "dpo.judge.path", "no config.json"),
        ({"kind": "hf_local", "path": str(tiny_model_dir), "tie_margin": 0.7}, "dpo.judge.tie_margin", "less than 0.5"),
        ({"kind": "hf_local", "path": str(tiny_model_dir), "batch": 4}, "dpo.judge.batch", "Extra inputs"),
        ({"kind": "hf_local", "path": str(tiny_model_dir), "rubric": {"score_labels": ["1", "1"]}}, "dpo.judge.rubric.score_labels", "distinct"),
        ({"kind": "hf_local", "path": str(tiny_model_dir), "device": "tpu"}, "dpo.judge.device", "auto"),
        ({"kind": "hf_local", "path": str(tiny_model_dir), "rubric": {"pointwise": "Rate {answr}"}}, "dpo.judge.rubric.pointwise", "bad placeholder 'answr'"),
        ({"kind": "hf_local", "path": str(tiny_model_dir), "rubric": str(tmp_path / "nope.yaml")}, "dpo.judge.rubric", "cannot read the rubric file"),
    ]
    for raw, path, message in cases:
        with pytest.raises(ValidationError) as err:
            TypeAdapter(JudgeConfig).validate_python(raw)
        error = err.value.errors()[0]
        assert format_location(("dpo", "judge", *error["loc"])) == path, raw
        assert message in error["msg"], (raw, error["msg"])


def test_a_label_that_is_not_one_token_fails_at_build_and_a_rubric_file_is_read(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match=r"judge\.rubric\.score_labels: '10 out of 10' is not a single token"):
        build_judge(config(tiny_model_dir, rubric={"score_labels": ["0", "10 out of 10"]}))
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("score_labels: ['1', '2', '3', '4', '5']\npointwise: 'Grade 1-5: {answer}'\n", encoding="utf-8")
    judge = build_judge(config(tiny_model_dir, rubric=str(rubric)))
    assert judge.rubric.score_labels == ["1", "2", "3", "4", "5"] and len(judge.score_ids) == 5
    assert 0.0 <= judge.judge(PROMPT, GOOD).score <= 1.0
