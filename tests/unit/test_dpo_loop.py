"""The online DPO loop's pieces: pairing with a margin, what a round reports, length drift, the win rate against
the previous round, and which model is the reference (input or previous round) in trl's DPOTrainer."""

from __future__ import annotations

import math

import pytest

from steep.generate.config import GenerationConfig
from steep.generate.hf import GeneratedText
from steep.judge.rules import RulesJudge, RulesJudgeConfig
from steep.stages.dpo import DpoConfig, length_drift, sample_preference_pairs, sampled_report
from steep.tasks.winrate import win_rate

JUDGE = RulesJudge(RulesJudgeConfig.model_validate({"rules": [
    {"kind": "regex_present", "name": "cites", "pattern": r"POL-\d{4}"},
    {"kind": "max_words", "name": "short", "max": 4},
]}))
PROMPTS = [[{"role": "user", "content": "q1"}], [{"role": "user", "content": "q2"}]]


class FixedGenerator:
    """Replies from a list, in order: which answer wins is known in advance."""

    def __init__(self, replies):
        self.replies = list(replies)

    def sample(self, conversations, k, generation, seed=None):
        assert len(conversations) * k == len(self.replies)
        replies = [GeneratedText(text, 1, 1, "stop") for text in self.replies]
        return [replies[i * k : (i + 1) * k] for i in range(len(conversations))]


def test_best_and_worst_make_the_pair_and_all_tied_prompts_make_none():
    replies = ["POL-1234 yes", "no policy cited at all here", "POL-1", "POL-2"]  # prompt 1: 1.0 vs 0.0; prompt 2: tie
    samples, pairs = sample_preference_pairs(FixedGenerator(replies), JUDGE, PROMPTS, 2, GenerationConfig(), 0)
    assert len(samples) == 4 and [p["chosen"][0]["content"] for p in pairs] == ["POL-1234 yes"]
    assert pairs[0]["rejected"][0]["content"] == "no policy cited at all here" and pairs[0]["judge"] == JUDGE.identity
    report = sampled_report(samples, pairs, 2)
    assert report["prompts"] == 2 and report["pairs"] == 1 and report["tie_rate"] == 0.5
    assert report["sampled_all_rules_pass_rate"] == 0.25 and report["judge_margin_mean"] == 1.0


def test_a_gap_at_or_under_min_margin_is_dropped():
    replies = ["POL-1234 yes", "POL-1234 but far too many words", "POL-1234 ok", "nothing cited at all here"]  # gaps 0.5 and 1.0
    _, pairs = sample_preference_pairs(FixedGenerator(replies), JUDGE, PROMPTS, 2, GenerationConfig(), 0, min_margin=0.5)
    assert [p["chosen"][0]["content"] for p in pairs] == ["POL-1234 ok"]


def test_length_drift_is_relative_to_the_input_model():
    assert length_drift(15.0, 20.0) == pytest.approx(-0.25)
    assert length_drift(30.0, 20.0) == pytest.approx(0.5)
    assert length_drift(5.0, 0.0) == 0.0


def test_win_rate_counts_ties_as_half_and_a_model_against_itself_is_even():
    prompts = PROMPTS * 2
    new = ["POL-1234 yes", "POL-1234 yes", "nothing", "POL-1"]
    old = ["nothing", "POL-1234 yes", "POL-1234 yes", "POL-1"]
    report = win_rate(JUDGE, prompts, new, old)  # one win, one loss, two ties
    assert report["win_rate"] == 0.5 and report["tie_rate"] == 0.5 and report["both_order_agreement"] is None
    assert win_rate(JUDGE, prompts[:1], ["POL-1234 yes"], ["nothing"])["win_rate"] == 1.0
    assert win_rate(JUDGE, prompts, old, old)["win_rate"] == 0.5
    with pytest.raises(ValueError):
        win_rate(JUDGE, prompts, new, old[:2])


def test_config_refuses_nonsense_with_the_yaml_path():
    base = {"prompts": __file__, "heldout": __file__, "judge": JUDGE.config.model_dump()}
    assert DpoConfig.model_validate(base).reference == "input"
    for bad in ({"reference": "sft"}, {"min_margin": 1.0}, {"sft_loss_weight": -1}, {"length_guard": {"action": "panic"}}):
        with pytest.raises(ValueError) as error:
            DpoConfig.model_validate(base | bad)
        assert next(iter(bad)) in str(error.value)


def _pairs(n: int = 8) -> list[dict]:
    return [
        {"prompt": [{"role": "user", "content": f"How long does claim {i} take?"}],
         "chosen": [{"role": "assistant", "content": f"Answer: claim {i} settles in 3 working days.\nSource: POL-{1000 + i}"}],
         "rejected": [{"role": "assistant", "content": "The branch in town opens at nine."}]}
        for i in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize("reference", ["input", "previous_round"])
def test_the_reference_is_the_input_model_or_the_previous_round(tiny_model_dir, tmp_path, reference):
    """A second DPO round starts from a trained adapter. Against the previous round as reference the policy equals
    its reference at step 1, so the first loss is exactly log 2; against the input model it is not."""
    from steep.model.config import LoraConfig
    from steep.model.load import load_model, load_tokenizer
    from steep.trainer.config import OptimConfig
    from steep.trainer.core import TrainPlace, train_dpo

    model, tokenizer = load_model(tiny_model_dir, device="cpu"), load_tokenizer(tiny_model_dir)
    optim = OptimConfig(learning_rate=5e-2, max_steps=4, batch_size=4, checkpoint_steps=0, gradient_checkpointing=False)
    lora = LoraConfig(r=4, alpha=8)
    first = TrainPlace(tmp_path / "r0", tmp_path / "metrics.jsonl", phase="round0")
    policy, _ = train_dpo(model, tokenizer, _pairs(), lora=lora, optim=optim, beta=0.1, max_length=64, place=first)
    second = TrainPlace(tmp_path / "r1", tmp_path / "metrics.jsonl", phase="round1")
    policy, summary = train_dpo(policy, tokenizer, _pairs(), lora=lora, optim=optim, beta=0.1, max_length=64, place=second, reference=reference)
    assert "ref" not in policy.peft_config  # the reference copy never ships with the policy
    if reference == "previous_round":
        assert summary["train_loss_first"] == pytest.approx(math.log(2), abs=1e-4)
    else:
        assert abs(summary["train_loss_first"] - math.log(2)) > 1e-3


def test_sft_loss_weight_adds_the_chosen_nll_to_the_loss(tiny_model_dir, tmp_path):
    """RPO: with the chosen answers' NLL added, the first step's loss is log 2 plus that NLL (several nats for an
    untrained model), not log 2 alone."""
    from steep.model.config import LoraConfig
    from steep.model.load import load_model, load_tokenizer
    from steep.trainer.config import OptimConfig
    from steep.trainer.core import TrainPlace, train_dpo

    optim = OptimConfig(learning_rate=1e-3, max_steps=1, batch_size=4, checkpoint_steps=0, gradient_checkpointing=False)
    losses = {}
    for weight in (0.0, 1.0):
        model, tokenizer = load_model(tiny_model_dir, device="cpu"), load_tokenizer(tiny_model_dir)
        place = TrainPlace(tmp_path / f"w{weight}", tmp_path / f"m{weight}.jsonl")
        _, summary = train_dpo(model, tokenizer, _pairs(4), lora=LoraConfig(r=4, alpha=8), optim=optim, beta=0.1, max_length=64, place=place, sft_loss_weight=weight)
        losses[weight] = summary["train_loss_first"]
    assert losses[0.0] == pytest.approx(math.log(2), abs=1e-4)
    assert losses[1.0] > losses[0.0] + 1.0
