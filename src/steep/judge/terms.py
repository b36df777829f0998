"""Terms of use of a model that judges (or teaches): may its outputs train another model?

Many hosted and open models forbid using their outputs to train a competing model. A model judge's preferences
*are* training data for dpo and rs, so a stage that trains on a model judge's verdicts refuses to start unless the
config declares, for that judge, that its terms allow it and where that was read:

    judge:
      kind: openai
      model: Qwen2.5-72B-Instruct
      terms: {allows_training_on_outputs: true, source: "Qwen license, section 4 (https://...)"}

Rules as code are the user's own and need no declaration. Evaluation-only judges are not checked: they train nothing.
"""

from __future__ import annotations

from pydantic import Field

from steep.schema import StrictModel


class JudgeTerms(StrictModel):
    allows_training_on_outputs: bool = False
    source: str = Field("", description="where the terms say so: a license name and section, or a URL")


class TermsRefused(ValueError):
    """A stage would train on the outputs of a model whose declared terms do not allow it."""


def check_training_terms(terms: JudgeTerms | None, *, who: str, where: str) -> None:
    """Raise `TermsRefused` unless `terms` declares that training on `who`'s outputs is allowed, with a source.

    `who` names the model (its identity); `where` is the YAML path of its config, so the message says what to add."""
    if terms is not None and terms.allows_training_on_outputs and terms.source.strip():
        return
    if terms is not None and terms.allows_training_on_outputs:
        problem = "declares allows_training_on_outputs: true but gives no `source` (where the terms say so)"
    else:
        problem = "does not declare that its terms allow training on its outputs"
    raise TermsRefused(
        f"{where}: the judge {who} {problem}. Its verdicts would train the model; check the model's license or API "
        f"terms and, if they allow it, add `terms: {{allows_training_on_outputs: true, source: \"...\"}}` under {where}"
    )
