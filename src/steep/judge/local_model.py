"""The `hf_local` judge: a local Hugging Face causal LM that grades by the probabilities of its answer labels.

    judge:
      kind: hf_local
      path: models/Qwen2.5-7B-Instruct          # a local directory (save_pretrained); nothing is downloaded
      criteria: "Cites a policy id; under 60 words."
      rubric: {pointwise: "...", pairwise: "..."}   # or a YAML/JSON file; defaults below
      batch_size: 8
      max_length: 2048                           # tokens per question; a longer conversation is cut from its start
      device: auto                               # auto | cpu | cuda
      dtype: auto                                # auto (bf16 on a GPU that has it, else fp32) | float32 | bfloat16 | float16
      tie_margin: 0.05                           # pairwise: |P(a better) - 0.5| at or under this is a tie
      cache_dir: null                            # a directory: label probabilities cached, a rerun computes nothing twice
      terms: {allows_training_on_outputs: true, source: "Qwen license, section 4"}

No text is generated. The rubric is rendered as a user message with the model's chat template, the assistant's
reply is started with a prefix (`Score:` / `Winner:`), and one forward pass gives the next-token distribution:

- pointwise: the labels `0`..`9` (a 0-9 scale: every digit is one token in every common tokenizer, while `10`
  often is two). The probabilities of the labels, renormalised to sum to 1, give the *expected* score
  E[label] / 9 in [0, 1]: smoother than the argmax (a judge torn between 6 and 7 says 0.72, not 0.67 or 0.78),
  and it ranks answers the argmax would tie. A label's probability sums its spellings that are one token
  (`7` and ` 7`); `label_mass` in the rationale is how much of the distribution fell on labels at all.
- pairwise: `A` vs `B`, asked in both orders (a, b) and (b, a). P(a better) is averaged over the two orders
  (position bias cancels); when the orders disagree (one prefers a, the other b) the result is a tie with
  agreed=False and confidence 0; otherwise the winner's confidence is the margin |2 P(a better) - 1|.

Questions are batched (`batch_size` rows, left padded, longest first). `usage.calls` counts questions run through
the model (a cache hit is not a call), `usage.prompt_tokens` their tokens; nothing is generated, so completion
tokens stay 0. The identity names the directory, a digest of its content and a digest of the rubric.

Try it on the tests' tiny model:

    PYTHONPATH=src python -m pytest tests/unit/test_judge_local_model.py -q
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, field_validator

from steep.chat import Message
from steep.judge.base import Comparison, Verdict
from steep.judge.hf_common import DeviceName, DtypeName, HFModelDir, HFModelJudge
from steep.judge.rubric import DEFAULT_CRITERIA, render_conversation
from steep.judge.terms import JudgeTerms
from steep.schema import StrictModel

# The wording of steep.judge.rubric's templates, asking for one label instead of a line to parse.
LABEL_POINTWISE_TEMPLATE = (
    "You are a strict grader. Criteria:\n{criteria}\n\nConversation so far:\n{conversation}\n\n"
    "Assistant's answer:\n{answer}\n\nRate the answer from 0 to 9 against the criteria "
    "(0: meets none of them, 9: meets every one). Reply with one line: Score: N"
)
LABEL_PAIRWISE_TEMPLATE = (
    "You are a strict grader. Criteria:\n{criteria}\n\nConversation so far:\n{conversation}\n\n"
    "Answer A:\n{answer_a}\n\nAnswer B:\n{answer_b}\n\nWhich answer better meets the criteria? "
    "Reply with one line: Winner: A or Winner: B"
)
DIGITS = [str(d) for d in range(10)]
PAIR_LABELS = ("A", "B")


class LabelRubric(StrictModel):
    """The questions, the reply prefixes the model continues from, and the score labels (lowest first)."""

    pointwise: str = LABEL_POINTWISE_TEMPLATE
    pairwise: str = LABEL_PAIRWISE_TEMPLATE
    score_prefix: str = "Score:"
    winner_prefix: str = "Winner:"
    score_labels: list[str] = Field(default_factory=lambda: list(DIGITS), min_length=2)

    @field_validator("pointwise", "pairwise")
    @classmethod
    def _placeholders(cls, template: str) -> str:
        fields = {"conversation": "", "answer": "", "answer_a": "", "answer_b": "", "criteria": ""}
        try:
            template.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            allowed = ", ".join("{" + f + "}" for f in fields)
            raise ValueError(f"bad placeholder {exc} (allowed: {allowed})") from None
        return template

    @field_validator("score_labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels) or not all(label.strip() for label in labels):
            raise ValueError(f"score labels must be distinct and non-blank, got {labels}")
        return labels


class LocalModelJudgeConfig(StrictModel):
    kind: Literal["hf_local"] = "hf_local"
    path: HFModelDir
    # inline, or a path to a YAML/JSON file with the same keys, read when the config validates
    rubric: LabelRubric = Field(default_factory=LabelRubric)
    criteria: str = DEFAULT_CRITERIA
    batch_size: int = Field(8, ge=1)
    max_length: int = Field(2048, ge=32)
    device: DeviceName = "auto"
    dtype: DtypeName = "auto"
    tie_margin: float = Field(0.05, ge=0.0, lt=0.5)
    cache_dir: Path | None = None
    terms: JudgeTerms | None = None

    @field_validator("rubric", mode="before")
    @classmethod
    def _rubric_file(cls, value):
        if not isinstance(value, (str, Path)):
            return value
        try:
            return yaml.safe_load(Path(value).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read the rubric file {value}: {exc}") from None


class LocalModelJudge(HFModelJudge):
    """The `Judge` behind a local causal LM, read through the probabilities of its label tokens."""

    def __init__(self, config: LocalModelJudgeConfig) -> None:
        super().__init__(config)
        self.rubric = config.rubric
        self.score_ids = [self._label_ids(label, "score_labels") for label in self.rubric.score_labels]
        self.pair_ids = [self._label_ids(label, "pairwise labels") for label in PAIR_LABELS]
        rubric_digest = hashlib.sha256(
            json.dumps([self.rubric.model_dump(), config.criteria, config.max_length]).encode("utf-8")
        ).hexdigest()[:12]
        self.identity = f"hf_local:{self.path.name}@{self.digest}:rubric={rubric_digest}"

    def _label_ids(self, label: str, what: str) -> list[int]:
        """The token ids that spell `label` alone: `7` and ` 7` where each is one token."""
        ids = []
        for spelling in (label, " " + label):
            tokens = self.tokenizer(spelling, add_special_tokens=False)["input_ids"]
            if len(tokens) == 1 and tokens[0] not in ids:
                ids.append(tokens[0])
        if not ids:
            raise ValueError(
                f"judge.rubric.{what}: {label!r} is not a single token for the tokenizer of {self.path}; "
                "choose labels the tokenizer keeps whole (single digits or letters)"
            )
        return ids

    def _load(self, device: str, dtype):
        from transformers import AutoModelForCausalLM

        try:
            model = AutoModelForCausalLM.from_pretrained(str(self.path), dtype=dtype)
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot load judge model {self.path} as a causal LM: {error}") from error
        return model.to(device)

    def _forward_kwargs(self, model) -> dict:
        # Only the last position's logits are read: with a 150k vocabulary, keeping every position's would cost
        # batch * length * 150k * 4 bytes (8 x 2048 x 150k x 4 = 9.8 GB).
        import inspect

        return {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}

    # -- questions -------------------------------------------------------------------------------------------
    def _question(self, template: str, prefix: str, prompt: Sequence[Message], **answers: str) -> str:
        """The text fed to the model: the rubric as a user turn, the assistant turn opened with `prefix`.

        When it is over max_length tokens, the conversation is cut from its start (the answers and the rubric's
        instructions are what the model must see)."""
        conversation = render_conversation(list(prompt))
        text = self._render(template.format(conversation=conversation, criteria=self.config.criteria, **answers), prefix)
        overflow = len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) - self.config.max_length
        if overflow > 0:
            conversation_ids = self.tokenizer(conversation, add_special_tokens=False)["input_ids"]
            # 8 tokens of slack for "[...] " and for merges that change at the cut; if even the answers and the
            # rubric do not fit, the conversation goes entirely and `_encode` keeps the question's end.
            cut = "[...] " + self.tokenizer.decode(conversation_ids[overflow + 8 :])
            text = self._render(template.format(conversation=cut, criteria=self.config.criteria, **answers), prefix)
        return text

    def _render(self, content: str, prefix: str) -> str:
        messages = [{"role": "user", "content": content}]
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + prefix
        return f"{content}\n{prefix}"

    def label_probabilities(self, kind: str, questions: Sequence[str]) -> list[list[float]]:
        """Per question: [P(label) for each label, renormalised to sum to 1] + [the labels' total mass]."""
        label_ids = self.score_ids if kind == "pointwise" else self.pair_ids

        def head(outputs, _ids):
            import torch

            logprobs = torch.log_softmax(outputs.logits[:, -1, :].float(), dim=-1)
            return torch.stack([logprobs[:, ids].exp().sum(-1) for ids in label_ids], dim=-1)

        def compute(indices: list[int]) -> list[list[float]]:
            raw = self._forward([self._encode(questions[i]) for i in indices], head)
            out = []
            for probs in raw:
                mass = sum(probs)
                if mass <= 0 or not math.isfinite(mass):
                    self.usage.malformed += 1
                    out.append([1.0 / len(probs)] * len(probs) + [0.0])
                else:
                    out.append([p / mass for p in probs] + [mass])
            return out

        return self._cached(kind, list(questions), compute)

    # -- the Judge protocol ----------------------------------------------------------------------------------
    def judge(self, prompt: list[Message], answer: str) -> Verdict:
        return self.judge_batch([prompt], [answer])[0]

    def judge_batch(self, prompts: Sequence[list[Message]], answers: Sequence[str]) -> list[Verdict]:
        if len(prompts) != len(answers):
            raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers")
        questions = [
            self._question(self.rubric.pointwise, self.rubric.score_prefix, p, answer=a) for p, a in zip(prompts, answers)
        ]
        labels = self.rubric.score_labels
        verdicts = []
        for row in self.label_probabilities("pointwise", questions):
            probs, mass = row[:-1], row[-1]
            # labels are an evenly spaced scale, lowest first: label k is worth k / (n - 1)
            score = min(1.0, max(0.0, sum(k * p for k, p in enumerate(probs)) / (len(labels) - 1)))
            top = labels[max(range(len(probs)), key=probs.__getitem__)]
            verdicts.append(Verdict(score, rationale=f"expected score {score:.3f} (most likely label {top}; label_mass {mass:.3f})"))
        return verdicts

    def compare_batch(self, triples: Sequence[tuple[list[Message], str, str]]) -> list[Comparison]:
        questions = []
        for prompt, a, b in triples:
            for first, second in ((a, b), (b, a)):
                questions.append(
                    self._question(self.rubric.pairwise, self.rubric.winner_prefix, prompt, answer_a=first, answer_b=second)
                )
        rows = self.label_probabilities("pairwise", questions)
        return [self._decide(rows[2 * i][0], rows[2 * i + 1][1]) for i in range(len(triples))]

    def _decide(self, p_forward: float, p_swapped: float) -> Comparison:
        """`p_forward`: P(A) asked as (a, b); `p_swapped`: P(B) asked as (b, a). Both are P(a is better)."""
        p = (p_forward + p_swapped) / 2
        why = f"P(a better): order (a,b) {p_forward:.3f}, order (b,a) {p_swapped:.3f}, mean {p:.3f}"
        if (p_forward - 0.5) * (p_swapped - 0.5) < 0:
            return Comparison("tie", 0.0, why + "; the orders disagree", agreed=False)
        if abs(p - 0.5) <= self.config.tie_margin:
            return Comparison("tie", 0.0, why, agreed=True)
        return Comparison("a" if p > 0.5 else "b", min(1.0, abs(2 * p - 1)), why, agreed=True)
