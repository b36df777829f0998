"""The one door to a judge: a `kind`-discriminated config and the factory that builds the judge it names.

    judge = build_judge(cfg.dpo.judge)      # every caller types against `steep.judge.base.Judge`

Kinds: `rules` (business rules as code, `steep.judge.rules`; the default when `kind` is absent) and `openai`
(any OpenAI-compatible endpoint, `steep.judge.http_judge`). Other model judges (a local model, a reward model,
an ensemble) add a tagged member to `JudgeConfig` and their class to `JUDGE_KINDS`; no caller changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Tag

from steep.judge.base import Judge
from steep.judge.http_judge import OpenAIJudge, OpenAIJudgeConfig
from steep.judge.terms import check_training_terms
from steep.judge.rules import RulesJudge, RulesJudgeConfig


def _judge_kind(value: Any) -> str:
    """The config's `kind`; a judge config without one is a rules judge (every YAML written before kinds)."""
    if isinstance(value, dict):
        return str(value.get("kind", "rules"))
    return str(getattr(value, "kind", "rules"))


JudgeConfig = Annotated[
    Annotated[RulesJudgeConfig, Tag("rules")] | Annotated[OpenAIJudgeConfig, Tag("openai")],
    Discriminator(_judge_kind),
]

JUDGE_KINDS: dict[str, type] = {"rules": RulesJudge, "openai": OpenAIJudge}


def needs_training_terms(config: Any) -> bool:
    """True for a model judge, whose verdicts are another model's outputs: dpo calls `check_training_terms`."""
    return bool(getattr(JUDGE_KINDS.get(config.kind), "needs_training_terms", False))


def build_judge(config: JudgeConfig) -> Judge:
    """The judge `config.kind` names, built from its config."""
    try:
        judge_class = JUDGE_KINDS[config.kind]
    except KeyError:
        raise ValueError(f"unknown judge kind {config.kind!r} (known: {', '.join(sorted(JUDGE_KINDS))})") from None
    return judge_class(config)


def build_training_judge(config: JudgeConfig, *, where: str) -> Judge:
    """The judge for a stage whose verdicts train the model (dpo, rs): a model judge must declare terms that allow
    it (`steep.judge.terms`), or this refuses, naming `where` (the config's YAML path) and what to add."""
    judge = build_judge(config)
    if needs_training_terms(config):
        check_training_terms(getattr(config, "terms", None), who=judge.identity, where=where)
    return judge
