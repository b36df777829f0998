"""The one door to a judge: a `kind`-discriminated config and the factory that builds the judge it names.

    judge = build_judge(cfg.dpo.judge)      # every caller types against `steep.judge.base.Judge`

Kinds: `rules` (business rules as code, `steep.judge.rules`; the default when `kind` is absent), `openai` (any
OpenAI-compatible endpoint, `steep.judge.http_judge`), `hf_local` (a local causal LM read through its label
probabilities, `steep.judge.local_model`), `reward_model` (a local sequence-classification reward model,
`steep.judge.reward_model`) and `ensemble` (a rules gate plus weighted members of any kind, itself included,
`steep.judge.ensemble`). A new kind adds a tagged member to `JudgeConfig` and its class to `JUDGE_KINDS`; no
caller changes. Building a model judge reads its tokenizer and config, never its weights (they load on first use).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Tag

from steep.judge.base import Judge
from steep.judge.ensemble import EnsembleJudge, EnsembleJudgeConfig, EnsembleMember
from steep.judge.http_judge import OpenAIJudge, OpenAIJudgeConfig
from steep.judge.local_model import LocalModelJudge, LocalModelJudgeConfig
from steep.judge.reference import ReferenceEmbeddingJudge, ReferenceJudgeConfig
from steep.judge.reward_model import RewardModelJudge, RewardModelJudgeConfig
from steep.judge.rules import RulesJudge, RulesJudgeConfig
from steep.judge.terms import check_training_terms


def _judge_kind(value: Any) -> str:
    """The config's `kind`; a judge config without one is a rules judge (every YAML written before kinds)."""
    if isinstance(value, dict):
        return str(value.get("kind", "rules"))
    return str(getattr(value, "kind", "rules"))


JudgeConfig = Annotated[
    Annotated[RulesJudgeConfig, Tag("rules")]
    | Annotated[OpenAIJudgeConfig, Tag("openai")]
    | Annotated[LocalModelJudgeConfig, Tag("hf_local")]
    | Annotated[RewardModelJudgeConfig, Tag("reward_model")]
    | Annotated[EnsembleJudgeConfig, Tag("ensemble")],
    Discriminator(_judge_kind),
]

# An ensemble member holds any JudgeConfig, an ensemble included: resolve that forward reference now, once the
# union exists (the ensemble module cannot import this one: this one imports it).
EnsembleMember.model_rebuild(_types_namespace={"JudgeConfig": JudgeConfig})
EnsembleJudgeConfig.model_rebuild(force=True)

JUDGE_KINDS: dict[str, type] = {
    "rules": RulesJudge,
    "openai": OpenAIJudge,
    "hf_local": LocalModelJudge,
    "reward_model": RewardModelJudge,
    "ensemble": EnsembleJudge,
}


def needs_training_terms(config: Any) -> bool:
    """True for a model judge, whose verdicts are another model's outputs, and for an ensemble with one among its
    members: dpo and rs then call `check_training_terms` (through `build_training_judge`)."""
    if getattr(config, "kind", None) == "ensemble":
        return any(needs_training_terms(member.judge) for member in config.members)
    return bool(getattr(JUDGE_KINDS.get(config.kind), "needs_training_terms", False))


def build_judge(config: JudgeConfig) -> Judge:
    """The judge `config.kind` names, built from its config."""
    try:
        judge_class = JUDGE_KINDS[config.kind]
    except KeyError:
        raise ValueError(f"unknown judge kind {config.kind!r} (known: {', '.join(sorted(JUDGE_KINDS))})") from None
    if judge_class is EnsembleJudge:
        return EnsembleJudge(config, build_member=build_judge)  # members are judges of any kind, built here
    return judge_class(config)


def build_training_judge(config: JudgeConfig, *, where: str) -> Judge:
    """The judge for a stage whose verdicts train the model (dpo, rs): a model judge must declare terms that allow
    it (`steep.judge.terms`), or this refuses, naming `where` (the config's YAML path) and what to add. An
    ensemble's members are checked one by one, each at its own path (`where.members[i].judge`). Model judges load
    their weights on first use, so a refusal comes before any weights are read."""
    judge = build_judge(config)
    _check_terms(config, judge, where)
    return judge


def _check_terms(config: Any, judge: Any, where: str) -> None:
    if config.kind == "ensemble":
        for i, (member, built) in enumerate(zip(config.members, judge.members)):
            _check_terms(member.judge, built, f"{where}.members[{i}].judge")
    elif needs_training_terms(config):
        check_training_terms(getattr(config, "terms", None), who=judge.identity, where=where)


def _eval_judge_kind(value: Any) -> str:
    kind = value.get("kind", "rules") if isinstance(value, dict) else getattr(value, "kind", "rules")
    return "reference" if kind == "reference_embedding" else "judge"


# eval's judge: any judge, or one that reads gold answers (only eval has them, so only eval accepts this kind)
EvalJudgeConfig = Annotated[
    Annotated[ReferenceJudgeConfig, Tag("reference")] | Annotated[JudgeConfig, Tag("judge")],
    Discriminator(_eval_judge_kind),
]


def build_eval_judge(config: Any, *, device: str = "cpu") -> Any:
    """The evaluation judge: a reference judge (which also has `similarity` and `compare_to_references`) or any
    judge `build_judge` builds."""
    if config.kind == "reference_embedding":
        return ReferenceEmbeddingJudge(config, device=device)
    return build_judge(config)
