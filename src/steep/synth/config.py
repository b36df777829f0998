"""What synth reads from the YAML: the use cases (top level), the teacher, how many rows of each kind, and the
quality gates. Torch-free, so validating a pipeline stays fast.

    use_cases:
      - name: claims
        description: Customers asking how home insurance claims are handled.
        examples: ["How long does a home insurance claim take to settle?"]
        rules: ["cite the policy id", "never repeat an account number"]
        documents: '(?i)claim'          # which documents serve this use case (default: every document)
    synth:
      teacher: {kind: template}        # offline, deterministic; or hf_local / openai (a model: declare its terms)
      sft: {per_document: 2}
      dpo: {per_document: 2, tempting_share: 0.25}
      rs: {per_document: 1}

The pipeline fills what synth leaves empty from the rest of the YAML (`resolve_from_pipeline`): the top-level
`use_cases`, curate's compliance gate, the restricted and post-cutoff terms the tempting prompts use (curate's
`compliance.terms` and `time.terms`), and the held-out files to decontaminate against (sft, dpo and rs
`heldout`). Those copies are part of synth's config hash, so changing a use case reruns synth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from steep.curate.config import ComplianceConfig, PiiConfig
from steep.generate.config import GenerationConfig
from steep.judge.factory import JudgeConfig
from steep.judge.terms import JudgeTerms, TermsRefused, check_training_terms
from steep.schema import ExistingPath, Regex, StrictModel


class UseCase(StrictModel):
    """One job the assistant does for the company. Rows synthesized for it carry `meta.use_case: <name>`."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    examples: list[str] = Field(default_factory=list, description="a few seed questions users really ask")
    rules: list[str] = Field(default_factory=list, description="the rules that apply, in words (the teacher reads them)")
    documents: Regex | None = Field(None, description="a regex: documents (title or text) that serve this use case; default all")
    matches: Regex | None = Field(None, description="a regex over a held-out prompt's user text: eval counts rows "
                                  "without meta.use_case that match as this use case's (none: what no other use case matched)")  # fmt: skip


# --- teachers -------------------------------------------------------------------------------------------------------


class TemplateTeacherConfig(StrictModel):
    """Offline and deterministic: rows built from the documents' sentences and the use cases' seeds (demo, tests)."""

    kind: Literal["template"] = "template"


def _require_terms(terms: JudgeTerms | None, who: str) -> None:
    try:
        check_training_terms(terms, who=who, where="synth.teacher")
    except TermsRefused as error:
        # the judge's message, reworded for a teacher: pydantic prefixes the YAML path (synth.teacher...)
        raise ValueError(str(error).replace("synth.teacher: the judge", "the teacher").replace("Its verdicts", "Its outputs")) from None


class HFTeacherConfig(StrictModel):
    """A local Hugging Face causal LM, sampled in this process through `steep.generate`'s HF engine."""

    kind: Literal["hf_local"] = "hf_local"
    path: ExistingPath
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    generation: GenerationConfig = GenerationConfig(max_new_tokens=256, temperature=0.7)
    terms: JudgeTerms | None = None

    @model_validator(mode="after")
    def _terms(self) -> HFTeacherConfig:
        _require_terms(self.terms, f"hf_local:{self.path}")
        return self


class OpenAITeacherConfig(StrictModel):
    """Any OpenAI-compatible endpoint (vLLM, a hosted API) through `steep.generate`'s openai engine."""

    kind: Literal["openai"] = "openai"
    base_url: str = Field(min_length=1, description="e.g. http://127.0.0.1:8000/v1")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(5, ge=0)
    backoff_base_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    concurrency: int = Field(8, ge=1)
    generation: GenerationConfig = GenerationConfig(max_new_tokens=512, temperature=0.7)
    terms: JudgeTerms | None = None

    @model_validator(mode="after")
    def _terms(self) -> OpenAITeacherConfig:
        _require_terms(self.terms, f"openai:{self.model}")
        return self


TEACHER_KINDS = ("template", "hf_local", "openai")
TeacherConfig = Annotated[Union[TemplateTeacherConfig, HFTeacherConfig, OpenAITeacherConfig], Field(discriminator="kind")]


# --- what to write --------------------------------------------------------------------------------------------------


class SftSynthConfig(StrictModel):
    per_document: int = Field(2, ge=0, description="question-answer pairs asked of each document")


class DpoSynthConfig(StrictModel):
    per_document: int = Field(2, ge=0, description="prompts asked of each document")
    tempting_share: float = Field(0.25, ge=0, le=1, description="share of prompts that tempt the model to break a rule")


class RsSynthConfig(StrictModel):
    per_document: int = Field(1, ge=0, description="scenarios asked of each document")
    follow_ups: int = Field(4, ge=1, le=30, description="user turns after the opening line (the last asks a fact back)")


class TemptationsConfig(StrictModel):
    """What tempting prompts ask for. Empty lists are filled from curate (`compliance.terms`, `time.terms`)."""

    account_number: bool = True
    restricted_terms: list[str] = Field(default_factory=list)
    post_cutoff_terms: list[str] = Field(default_factory=list)


class SynthQualityConfig(StrictModel):
    """Gates every synthesized row passes; each drop is counted by reason in the manifest (`dropped`)."""

    pii: PiiConfig = PiiConfig()
    compliance: ComplianceConfig | None = Field(None, description="default: curate's compliance section")
    min_grounding: float = Field(0.6, ge=0, le=1, description="share of an sft answer's content words found in its document; below: dropped (0: off)")
    near_duplicate_threshold: float = Field(0.8, gt=0, le=1, description="word-shingle Jaccard at which a row is a near duplicate")
    heldout: list[ExistingPath] = Field(default_factory=list, description="decontaminate against these; default: sft, dpo, rs heldout")
    ngram: int = Field(13, ge=3, le=64, description="a row sharing one word n-gram with a held-out file is dropped")
    judge: JudgeConfig | None = Field(None, description="optional: sft pairs the judge scores below min_judge_score are dropped")
    min_judge_score: float = Field(0.5, ge=0, le=1)


class SynthConfig(StrictModel):
    """Synthetic sft pairs, dpo prompts and rs scenarios from the company's documents, by a teacher."""

    enabled: bool = True
    documents: ExistingPath | None = Field(None, description="a JSONL file or directory of {id, text, meta}; default: curate's documents")
    teacher: TeacherConfig = TemplateTeacherConfig()
    use_cases: list[UseCase] = Field(default_factory=list, description="default: the pipeline's top-level use_cases")
    system_prompt: str = Field("", description="the system message of every synthesized chat (empty: none)")
    answer_format: str = Field("{answer}\nSource: {source}", description="how an sft answer is written; {answer} and {source}")
    source_pattern: Regex | None = Field(None, description=r"a regex for the id an answer cites (e.g. 'POL-\d{4}'); default: the document id")
    max_documents: int = Field(200, ge=1)
    max_document_chars: int = Field(2000, ge=100, description="document text shown to a model teacher")
    sft: SftSynthConfig = SftSynthConfig()
    dpo: DpoSynthConfig = DpoSynthConfig()
    rs: RsSynthConfig = RsSynthConfig()
    temptations: TemptationsConfig = TemptationsConfig()
    quality: SynthQualityConfig = SynthQualityConfig()

    @model_validator(mode="after")
    def _format_fields(self) -> SynthConfig:
        if "{answer}" not in self.answer_format:
            raise ValueError("answer_format must contain {answer}")
        try:
            self.answer_format.format(answer="", source="")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"answer_format: only {{answer}} and {{source}} may be used ({error})") from None
        names = [u.name for u in self.use_cases]
        if len(set(names)) != len(names):
            raise ValueError(f"use_cases: duplicate names {names}")
        return self


def resolve_from_pipeline(synth: SynthConfig, *, use_cases: list[UseCase], curate, heldout: list[Path]) -> SynthConfig:
    """`synth` with what it left empty filled from the pipeline (module docstring). `curate`: its section or None."""
    update: dict = {}
    if not synth.use_cases and use_cases:
        update["use_cases"] = list(use_cases)
    quality = {}
    if synth.quality.compliance is None and curate is not None:
        quality["compliance"] = curate.compliance
    if not synth.quality.heldout and heldout:
        quality["heldout"] = [Path(p) for p in heldout]
    if quality:
        update["quality"] = synth.quality.model_copy(update=quality)
    temptations = {}
    if curate is not None and not synth.temptations.restricted_terms:
        temptations["restricted_terms"] = list(curate.compliance.terms)
    if curate is not None and not synth.temptations.post_cutoff_terms:
        temptations["post_cutoff_terms"] = list(curate.time.terms)
    if temptations:
        update["temptations"] = synth.temptations.model_copy(update=temptations)
    return synth.model_copy(update=update) if update else synth
