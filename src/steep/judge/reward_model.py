"""The `reward_model` judge: a local sequence-classification directory with one output, the reward.

    judge:
      kind: reward_model
      path: models/Skywork-Reward-Llama-3.1-8B   # a local directory (save_pretrained), num_labels: 1
      batch_size: 8
      max_length: 2048          # tokens; a longer conversation loses its start (the reward is read at the end)
      device: auto              # auto | cpu | cuda
      dtype: auto               # auto | float32 | bfloat16 | float16
      scale: 1.0                # pointwise score = sigmoid(scale * (reward - offset))
      offset: 0.0               #   offset: the reward that scores 0.5; scale: how fast scores saturate
      tie_margin: 0.0           # pairwise: |r_a - r_b| at or under this (reward units) is a tie
      cache_dir: null
      terms: {allows_training_on_outputs: true, source: "the reward model's license"}

The conversation plus the answer, as an assistant turn, is rendered with the reward model's own chat template when
its tokenizer has one (the format it was trained on), else as plain `role: content` lines. One forward pass per
answer, batched (left padded; the reward is the head's output at the last token).

Pointwise, a reward (unbounded) becomes a score in [0, 1] by the logistic function: sigmoid(scale * (r - offset)).
Pairwise is Bradley-Terry, the model reward models are trained under: P(a better than b) = sigmoid(r_a - r_b);
the winner is the higher reward, its confidence |2 P - 1|, and a gap within `tie_margin` is a tie. Since the score
is monotone in the reward, compare(a, b) always agrees with judge(a) vs judge(b). Order cannot matter (each answer
is scored alone), so `agreed` is None.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from steep.chat import Message
from steep.judge.base import Comparison, Verdict
from steep.judge.hf_common import DeviceName, DtypeName, HFModelDir, HFModelJudge, plain_rendering
from steep.judge.terms import JudgeTerms
from steep.schema import StrictModel


class RewardModelJudgeConfig(StrictModel):
    kind: Literal["reward_model"] = "reward_model"
    path: HFModelDir
    batch_size: int = Field(8, ge=1)
    max_length: int = Field(2048, ge=16)
    device: DeviceName = "auto"
    dtype: DtypeName = "auto"
    scale: float = Field(1.0, gt=0.0, allow_inf_nan=False)
    offset: float = Field(0.0, allow_inf_nan=False)
    tie_margin: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    cache_dir: Path | None = None
    terms: JudgeTerms | None = None


def sigmoid(x: float) -> float:
    # the two branches never overflow exp(): exp of a non-positive number only
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


class RewardModelJudge(HFModelJudge):
    """The `Judge` behind a reward model (AutoModelForSequenceClassification, num_labels=1)."""

    def __init__(self, config: RewardModelJudgeConfig) -> None:
        super().__init__(config)
        self._check_head()
        settings = hashlib.sha256(json.dumps([config.max_length, bool(self._template)]).encode()).hexdigest()[:8]
        self.identity = f"reward_model:{self.path.name}@{self.digest}:{settings}"

    @property
    def _template(self) -> str | None:
        return getattr(self.tokenizer, "chat_template", None) or None

    def _check_head(self) -> None:
        """Refuse a directory that is not a one-output classifier: loading a causal LM as a sequence classifier
        would give it a *random* score head and every reward would be noise, with only a warning in a log."""
        from transformers import AutoConfig

        model_config = AutoConfig.from_pretrained(str(self.path))
        architectures = list(getattr(model_config, "architectures", None) or [])
        if architectures and not any(a.endswith(("ForSequenceClassification", "RewardModel")) for a in architectures):
            raise ValueError(
                f"judge.path: {self.path} is a {', '.join(architectures)}, not a reward model "
                "(a sequence-classification model with one output); for a chat model use `kind: hf_local`"
            )
        if getattr(model_config, "num_labels", 1) != 1:
            raise ValueError(f"judge.path: {self.path} has num_labels={model_config.num_labels}; a reward model has 1")

    def _load(self, device: str, dtype):
        from transformers import AutoModelForSequenceClassification

        try:
            model = AutoModelForSequenceClassification.from_pretrained(str(self.path), dtype=dtype)
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot load reward model {self.path}: {error}") from error
        if model.config.pad_token_id is None:  # the head finds each row's last token by the pad id
            model.config.pad_token_id = self.tokenizer.pad_token_id
        return model.to(device)

    def render(self, prompt: Sequence[Message], answer: str) -> str:
        messages = [*prompt, {"role": "assistant", "content": answer}]
        if self._template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False)
        return plain_rendering(messages)

    def rewards(self, prompts: Sequence[Sequence[Message]], answers: Sequence[str]) -> list[float]:
        """The raw reward of each answer after its prompt (batched; cached when `cache_dir` is set)."""
        texts = [self.render(p, a) for p, a in zip(prompts, answers)]

        def compute(indices: list[int]) -> list[float]:
            rows = self._forward([self._encode(texts[i]) for i in indices], lambda outputs, _ids: outputs.logits[:, :1])
            return [row[0] for row in rows]

        return [float(r) for r in self._cached("reward", texts, compute)]

    def score(self, reward: float) -> float:
        return sigmoid(self.config.scale * (reward - self.config.offset))

    # -- the Judge protocol ----------------------------------------------------------------------------------
    def judge(self, prompt: list[Message], answer: str) -> Verdict:
        return self.judge_batch([prompt], [answer])[0]

    def judge_batch(self, prompts: Sequence[list[Message]], answers: Sequence[str]) -> list[Verdict]:
        if len(prompts) != len(answers):
            raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers")
        return [Verdict(self.score(r), rationale=f"reward {r:.4f}") for r in self.rewards(prompts, answers)]

    def compare_batch(self, triples: Sequence[tuple[list[Message], str, str]]) -> list[Comparison]:
        rewards = self.rewards([p for p, _, _ in triples for _ in (0, 1)], [x for _, a, b in triples for x in (a, b)])
        out = []
        for i in range(len(triples)):
            r_a, r_b = rewards[2 * i], rewards[2 * i + 1]
            p = sigmoid(r_a - r_b)  # Bradley-Terry: P(a preferred to b)
            why = f"reward a {r_a:.4f}, b {r_b:.4f}; P(a better) {p:.3f}"
            if abs(r_a - r_b) <= self.config.tie_margin:
                out.append(Comparison("tie", 0.0, why))
            else:
                out.append(Comparison("a" if r_a > r_b else "b", min(1.0, abs(2 * p - 1)), why))
        return out
