"""The `reward_model` judge: a one-output sequence classifier, batched; pairwise (Bradley-Terry) agrees with
pointwise; rendering; terms; a causal LM refused.

The tiny reward model is built offline from the tests' tokenizer (random weights: its rewards are arbitrary, so
the tests check structure); the direction of a preference is checked with a stub model whose reward is forged.

Run: PYTHONPATH=src python -m pytest tests/unit/test_judge_reward_model.py -q
"""

from __future__ import annotations

import itertools
import math
import re

import pytest
import torch
from pydantic import TypeAdapter, ValidationError

from steep.judge import JudgeConfig, RewardModelJudge, build_judge, build_training_judge, needs_training_terms
from steep.judge.terms import TermsRefused
from steep.pipeline.config import format_location

TERMS = {"allows_training_on_outputs": True, "source": "tests: a model built from scratch"}
PROMPT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How long does claim 12 take?"}]
GOOD = "Answer: claim 12 settles in 4 working days.\nSource: POL-1012"
BAD = "No idea."
ANSWERS = [GOOD, BAD, "Policy 3 covers water damage up to 300 euros.", "Claim 12 was settled within ten working days.", "Nine."]


@pytest.fixture(scope="module")
def rm_dir(tiny_model_dir, tmp_path_factory):
    """A tiny Llama reward model (LlamaForSequenceClassification, num_labels=1) with the tests' ChatML tokenizer."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    torch.manual_seed(0)
    model = LlamaForSequenceClassification(
        LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=2, max_position_embeddings=256, num_labels=1, pad_token_id=tokenizer.pad_token_id,
        )
    )
    with torch.no_grad():  # a random head of std 0.02 gives rewards within 1e-2 of each other: spread them
        model.score.weight.mul_(100.0)
    out = tmp_path_factory.mktemp("tiny_rm")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def config(path, **extra):
    return TypeAdapter(JudgeConfig).validate_python({"kind": "reward_model", "path": str(path), "device": "cpu", **extra})


@pytest.fixture(scope="module")
def judge(rm_dir) -> RewardModelJudge:
    return build_judge(config(rm_dir, batch_size=2))


def test_rewards_are_batched_like_alone_and_scores_are_their_sigmoid(rm_dir, judge):
    rewards = judge.rewards([PROMPT] * len(ANSWERS), ANSWERS)
    alone = build_judge(config(rm_dir, batch_size=1))
    assert rewards == pytest.approx([alone.rewards([PROMPT], [a])[0] for a in ANSWERS], abs=1e-5)
    assert len(set(round(r, 4) for r in rewards)) == len(ANSWERS)  # the spread head tells them apart
    verdicts = judge.judge_batch([PROMPT] * len(ANSWERS), ANSWERS)
    for r, v in zip(rewards, verdicts):
        assert v.score == pytest.approx(1 / (1 + math.exp(-r)), abs=1e-6) and v.rationale == f"reward {r:.4f}"
    assert alone.usage.calls == len(ANSWERS) and alone.usage.prompt_tokens > 0
    assert re.fullmatch(r"reward_model:[^@]+@[0-9a-f]{12}:[0-9a-f]{8}", judge.identity)


def test_scale_and_offset(rm_dir, judge):
    r = judge.rewards([PROMPT], [GOOD])[0]
    shifted = build_judge(config(rm_dir, scale=2.0, offset=r - 1.0))
    assert shifted.judge(PROMPT, GOOD).score == pytest.approx(1 / (1 + math.exp(-2.0)), abs=1e-5)
    assert build_judge(config(rm_dir, offset=r)).judge(PROMPT, GOOD).score == pytest.approx(0.5, abs=1e-5)


def test_pairwise_agrees_with_pointwise_bradley_terry(judge):
    triples = [(PROMPT, a, b) for a, b in itertools.permutations(ANSWERS, 2)]
    comparisons = judge.compare_batch(triples)
    for (_, a, b), c in zip(triples, comparisons):
        va, vb = judge.judge(PROMPT, a), judge.judge(PROMPT, b)
        assert c.winner == ("a" if va.score > vb.score else "b")
        r_a, r_b = judge.rewards([PROMPT, PROMPT], [a, b])
        assert c.confidence == pytest.approx(abs(2 / (1 + math.exp(-(r_a - r_b))) - 1), abs=1e-6)
        assert c.agreed is None  # each answer is scored alone: order cannot matter
    assert judge.compare(PROMPT, GOOD, GOOD).winner == "tie"


def test_tie_margin_in_reward_units(rm_dir, judge):
    r_good, r_bad = judge.rewards([PROMPT, PROMPT], [GOOD, BAD])
    gap = abs(r_good - r_bad)
    assert build_judge(config(rm_dir, tie_margin=gap * 1.01)).compare(PROMPT, GOOD, BAD).winner == "tie"
    assert build_judge(config(rm_dir, tie_margin=gap * 0.99)).compare(PROMPT, GOOD, BAD).winner != "tie"


def test_conversation_rendered_with_the_rm_template_or_plain_lines(judge, rm_dir):
    text = judge.render(PROMPT, GOOD)
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>") and f"<|im_start|>assistant\n{GOOD}<|im_end|>" in text
    plain = build_judge(config(rm_dir))
    plain.tokenizer.chat_template = None
    assert plain.render(PROMPT, GOOD) == f"system: Be brief.\nuser: How long does claim 12 take?\nassistant: {GOOD}"
    convo = [*PROMPT, {"role": "assistant", "content": BAD}, {"role": "user", "content": "Really?"}, {"role": "assistant", "content": GOOD}]
    verdicts = judge.judge_conversation(convo)
    assert [v.score for v in verdicts] == pytest.approx([judge.judge(PROMPT, BAD).score, judge.judge(convo[:4], GOOD).score], abs=1e-6)


class ForgedRM(torch.nn.Module):
    """Reward +3 for an answer that cites a policy, -3 otherwise, read from the rendered text."""

    def __init__(self, tokenizer):
        super().__init__()
        self.tokenizer = tokenizer
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask, position_ids, **_):
        rewards = [3.0 if "POL-" in self.tokenizer.decode(ids[m.bool()]).split("assistant")[-1] else -3.0
                   for ids, m in zip(input_ids, attention_mask)]
        return type("Out", (), {"logits": torch.tensor(rewards).unsqueeze(-1)})()


def test_forged_reward_direction(rm_dir):
    judge = build_judge(config(rm_dir))
    judge.set_model(ForgedRM(judge.tokenizer))
    good, bad = judge.judge_batch([PROMPT, PROMPT], [GOOD, BAD])
    assert good.score == pytest.approx(1 / (1 + math.exp(-3))) and bad.score == pytest.approx(1 / (1 + math.exp(3)))
    forward, backward = judge.compare_batch([(PROMPT, GOOD, BAD), (PROMPT, BAD, GOOD)])
    assert forward.winner == "a" and backward.winner == "b"
    assert forward.confidence == pytest.approx(2 / (1 + math.exp(-6)) - 1)


def test_cache(rm_dir, tmp_path):
    first = build_judge(config(rm_dir, cache_dir=str(tmp_path)))
    scores = [v.score for v in first.judge_batch([PROMPT] * 2, [GOOD, BAD])]
    again = build_judge(config(rm_dir, cache_dir=str(tmp_path)))
    assert [v.score for v in again.judge_batch([PROMPT] * 2, [GOOD, BAD])] == scores
    assert (again.usage.calls, again.usage.cache_hits) == (0, 2) and again._model is None


def test_terms_and_refusals(rm_dir, tiny_model_dir, tmp_path):
    assert needs_training_terms(config(rm_dir))
    with pytest.raises(TermsRefused, match=r"^rs\.judge: the judge reward_model:"):
        build_training_judge(config(rm_dir), where="rs.judge")
    assert build_training_judge(config(rm_dir, terms=TERMS), where="rs.judge")._model is None
    # a causal LM would load with a random score head: refused, pointing at hf_local
    with pytest.raises(ValueError, match=r"LlamaForCausalLM, not a reward model.*kind: hf_local"):
        build_judge(config(tiny_model_dir))
    for raw, path in [
        ({"kind": "reward_model", "path": str(rm_dir), "scale": 0}, "dpo.judge.scale"),
        ({"kind": "reward_model", "path": str(rm_dir), "tie_margin": -1}, "dpo.judge.tie_margin"),
        ({"kind": "reward_model", "path": str(tmp_path / "none")}, "dpo.judge.path"),
        ({"kind": "reward_model", "path": str(rm_dir), "rubric": "x"}, "dpo.judge.rubric"),
    ]:
        with pytest.raises(ValidationError) as err:
            TypeAdapter(JudgeConfig).validate_python(raw)
        assert format_location(("dpo", "judge", *err.value.errors()[0]["loc"])) == path
