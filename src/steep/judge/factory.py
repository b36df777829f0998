"""The one door to a judge: a `kind`-discriminated config and the factory that builds the judge it names.

    judge = build_judge(cfg.dpo.judge)      # every caller types against `steep.judge.base.Judge`

Today one kind exists, `rules` (business rules as code, `steep.judge.rules`). Model judges (OpenAI-compatible
HTTP, a local model, a reward model, an ensemble) add their config class to `JudgeConfig` (a pydantic union on
`kind`) and their class to `JUDGE_KINDS`; no caller changes.
"""

from __future__ import annotations

from steep.judge.base import Judge
from steep.judge.rules import RulesJudge, RulesJudgeConfig

# With a second kind this becomes `Annotated[RulesJudgeConfig | OtherConfig, Field(discriminator="kind")]`;
# pydantic cannot discriminate a union of one, and `kind` already defaults to "rules" in the member.
JudgeConfig = RulesJudgeConfig

JUDGE_KINDS: dict[str, type] = {"rules": RulesJudge}


def build_judge(config: JudgeConfig) -> Judge:
    """The judge `config.kind` names, built from its config."""
    try:
        judge_class = JUDGE_KINDS[config.kind]
    except KeyError:
        raise ValueError(f"unknown judge kind {config.kind!r} (known: {', '.join(sorted(JUDGE_KINDS))})") from None
    return judge_class(config)
