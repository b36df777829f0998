"""The pipeline YAML: one schema per stage, composed of small nested models, validated before any work starts.

    cfg = load_pipeline_config("examples/demo/pipeline.yaml", overrides=["sft.lora.r=4"])

A bad key, type, regex or a missing file raises `ConfigError` listing every problem by its YAML path and line
(`dpo.judge.rules[2].pattern (line 41): invalid regex ...`). Nothing here imports torch: validating a config
takes well under a second. Relative paths are resolved against the current working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator

from steep.curate.config import CurateConfig
from steep.judge.rules import RULE_KINDS, RulesJudgeConfig
from steep.schema import StrictModel
from steep.serve.config import ServeConfig


def _must_exist(path: Path) -> Path:
    if not Path(path).exists():
        raise ValueError(f"file not found: {path}")
    return path


ExistingPath = Annotated[Path, AfterValidator(_must_exist)]


def _glob_or_path_exists(pattern: str) -> bool:
    if any(char in pattern for char in "*?["):
        import glob

        return bool(glob.glob(pattern, recursive=True))
    return Path(pattern).exists()


# --- shared building blocks -------------------------------------------------------------------------------------


class OptimConfig(StrictModel):
    """Optimizer and schedule. `max_steps` > 0 overrides `epochs` (handy to shrink a run for tests)."""

    learning_rate: float = Field(2e-4, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, ge=-1)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    lr_scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    max_grad_norm: float = Field(1.0, gt=0)
    checkpoint_steps: int = Field(100, ge=0, description="save a resumable checkpoint every N steps; 0 = never")
    # GPU speed levers (bench/train_gpu.py measures each against plain trl). Off by default: they need CUDA
    # (liger: `pip install liger-kernel`, Triton kernels for RMSNorm, RoPE, SwiGLU and a fused linear +
    # cross-entropy that never materialises the logits; compile: torch.compile of the model).
    liger_kernel: bool = False
    torch_compile: bool = False


class LoraConfig(StrictModel):
    r: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    # Modules trained in full beside the adapter. Leave empty for real models; for a tiny model built from
    # scratch the embedding matrix is ~20% of all weights and LoRA without it barely moves (demo: measured
    # loss 5.19 vs 3.76 after 40 sft steps), so the demo trains `embed_tokens` and the tied `lm_head` too.
    modules_to_save: list[str] = []
    # lora: plain LoRA (scale alpha/r). rslora: scale alpha/sqrt(r), so raising r keeps learning instead of
    # fading out. dora: weight-decomposed LoRA (magnitude + direction), slower per step, closer to full FT.
    variant: Literal["lora", "rslora", "dora"] = "lora"
    # QLoRA: hold the frozen base in 4-bit NF4 (bitsandbytes, CUDA only). Refused with a clear error elsewhere.
    load_in_4bit: bool = False


class GenerationConfig(StrictModel):
    max_new_tokens: int = Field(64, ge=1)
    temperature: float = Field(1.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    batch_size: int = Field(16, ge=1)


# --- base model ---------------------------------------------------------------------------------------------------


class TinyArchitectureConfig(StrictModel):
    """A small Llama: d_model 128, 4 layers ≈ 1.4 M parameters with a 2k vocabulary; trains at ~5k tokens/s on 2 cores."""

    vocab_size: int = Field(2048, ge=300)
    hidden_size: int = Field(128, ge=16)
    intermediate_size: int = Field(384, ge=16)
    num_layers: int = Field(4, ge=1)
    num_heads: int = Field(4, ge=1)
    max_position_embeddings: int = Field(2048, ge=64)

    @model_validator(mode="after")
    def _heads_divide_width(self):
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        return self


class FromScratchConfig(StrictModel):
    """Build a tokenizer and a small Llama offline and pre-train it briefly on `corpus` (JSONL rows with `text`)."""

    corpus: list[ExistingPath] = Field(min_length=1)
    chat_corpus: list[ExistingPath] = Field(
        default=[], description="JSONL rows with `messages`, rendered with the chat template and mixed into pre-training"
    )
    tokenizer_corpus: list[ExistingPath] = Field(
        default=[],
        description="extra JSONL (`text` or `messages` rows) the tokenizer learns its merges from, never trained on",
    )
    architecture: TinyArchitectureConfig = TinyArchitectureConfig()
    seq_len: int = Field(256, ge=16)
    optim: OptimConfig = OptimConfig(learning_rate=3e-3, epochs=2, batch_size=16, warmup_ratio=0.05)


class BaseConfig(StrictModel):
    """Where the base model comes from: exactly one of `path`, `hub_id`, `from_scratch`."""

    path: ExistingPath | None = None
    hub_id: str | None = None
    revision: str | None = None
    from_scratch: FromScratchConfig | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"

    @model_validator(mode="after")
    def _exactly_one_source(self):
        given = [name for name in ("path", "hub_id", "from_scratch") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, hub_id, from_scratch (got {given or 'none'})")
        return self


# --- training stages ----------------------------------------------------------------------------------------------


class ReplayConfig(StrictModel):
    """General text mixed into cpt so the model keeps what it knew: `ratio` is replay tokens per domain token."""

    files: list[ExistingPath] = []
    ratio: float = Field(0.25, ge=0)


class HeldOutConfig(StrictModel):
    domain: list[ExistingPath] = []
    general: list[ExistingPath] = []
    max_docs: int = Field(200, ge=1)


class CptConfig(StrictModel):
    enabled: bool = True
    seq_len: int = Field(256, ge=16)
    replay: ReplayConfig = ReplayConfig()
    heldout: HeldOutConfig = HeldOutConfig()
    optim: OptimConfig = OptimConfig(learning_rate=1e-3, epochs=1, batch_size=16)
    # None: full continued pre-training (every weight). A LoRA config: train an adapter on the packed text and
    # merge it (parity-checked) into `model/`; cheaper, and forgets less, at the cost of learning less.
    lora: LoraConfig | None = None


class LaunchConfig(StrictModel):
    """How a training stage runs: in this process, or across several through `accelerate launch`.

    `num_processes: 1` (default) trains in the steep process. Above 1, steep writes the job to the stage's work
    directory and runs `accelerate launch` on it; rank 0 saves the adapter and the stage goes on as usual. With
    no `accelerate_config`, processes are data-parallel (DDP: NCCL on GPUs, gloo on CPUs). For FSDP or DeepSpeed
    ZeRO point `accelerate_config` at one of `examples/accelerate/*.yaml` (or your own); its `num_processes` is
    overridden by ours so the two never disagree.
    """

    num_processes: int = Field(1, ge=1)
    accelerate_config: ExistingPath | None = None
    main_process_port: int | None = Field(None, ge=1024, le=65535)


class SftConfig(StrictModel):
    enabled: bool = True
    train: ExistingPath
    heldout: ExistingPath
    format_pattern: str = Field(description="regex every assistant answer should full-match (the house format)")
    max_length: int = Field(512, ge=16)
    max_heldout: int = Field(64, ge=1)
    lora: LoraConfig = LoraConfig()
    optim: OptimConfig = OptimConfig()
    generation: GenerationConfig = GenerationConfig(temperature=0.0)
    launch: LaunchConfig = LaunchConfig()

    @model_validator(mode="after")
    def _pattern_compiles(self):
        _compile_or_explain(self.format_pattern)
        return self


class DpoConfig(StrictModel):
    """Online DPO: sample from the current policy, rank with the judge, train on best-vs-worst pairs, repeat."""

    enabled: bool = True
    prompts: ExistingPath
    heldout: ExistingPath
    judge: RulesJudgeConfig
    rounds: int = Field(1, ge=1)
    samples_per_prompt: int = Field(4, ge=2)
    max_prompts_per_round: int = Field(256, ge=1)
    max_heldout: int = Field(64, ge=1)
    beta: float = Field(0.1, gt=0)
    max_length: int = Field(512, ge=16)
    lora: LoraConfig = LoraConfig()
    optim: OptimConfig = OptimConfig(learning_rate=5e-4, epochs=2, batch_size=8)
    generation: GenerationConfig = GenerationConfig(temperature=1.0)
    heldout_generation: GenerationConfig = GenerationConfig(temperature=0.0)
    heldout_samples: int = Field(1, ge=1, description="answers sampled per held-out prompt (use >1 with temperature > 0)")


class RsConfig(StrictModel):
    """Rejection-sampled multi-turn SFT: roll out dialogues, judge whole conversations, train on the best."""

    enabled: bool = True
    scenarios: ExistingPath
    heldout: ExistingPath
    judge: RulesJudgeConfig
    system_prompt: str = ""
    max_scenarios: int = Field(1000, ge=1, description="scenarios rolled out (the first N of the file)")
    rollouts_per_scenario: int = Field(4, ge=1)
    candidates_per_turn: int = Field(1, ge=1, description="sample k replies per turn and keep the judge's best")
    keep_per_scenario: int = Field(1, ge=1)
    min_score: float = Field(0.0, ge=0, le=1, description="drop kept dialogues scoring below this")
    max_turns: int = Field(12, ge=1)
    late_turn: int = Field(8, ge=1, description="coherence_late averages assistant turns with index >= this")
    max_length: int = Field(1536, ge=16)
    max_heldout: int = Field(16, ge=1)
    heldout_rollouts: int = Field(1, ge=1, description="rollouts per held-out scenario (use >1 with temperature > 0)")
    lora: LoraConfig = LoraConfig()
    optim: OptimConfig = OptimConfig(learning_rate=3e-4, epochs=2, batch_size=4)
    generation: GenerationConfig = GenerationConfig(temperature=1.0)
    heldout_generation: GenerationConfig = GenerationConfig(temperature=0.0)


class EvalConfig(StrictModel):
    """Evaluate every stage's model on the held-out sets the stages declare (same data, same metric names)."""

    max_docs: int = Field(100, ge=1)
    max_prompts: int = Field(32, ge=1)
    max_dialogues: int = Field(8, ge=1)


# --- the pipeline -------------------------------------------------------------------------------------------------

STAGE_ORDER = ("base", "curate", "cpt", "sft", "dpo", "rs", "eval", "serve")


class PipelineConfig(StrictModel):
    run_dir: Path
    seed: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    base: BaseConfig
    curate: CurateConfig
    cpt: CptConfig = CptConfig()
    sft: SftConfig
    dpo: DpoConfig
    rs: RsConfig
    eval: EvalConfig = EvalConfig()
    serve: ServeConfig = ServeConfig()

    @field_validator("curate")
    @classmethod
    def _curate_inputs_exist(cls, curate: CurateConfig) -> CurateConfig:
        # a field validator (not a model one) so this is reported alongside other sections' errors
        missing = [f"inputs[{i}]: file not found: {p}" for i, p in enumerate(curate.inputs) if not _glob_or_path_exists(p)]
        if missing:
            raise ValueError("; ".join(missing))
        return curate


# --- loading, overrides and error reporting -----------------------------------------------------------------------


class ConfigError(ValueError):
    """A pipeline config that cannot run; `problems` lists (yaml_path, message)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"invalid pipeline config {source}:\n{lines}")


def _compile_or_explain(pattern: str) -> None:
    import re

    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"invalid regex {pattern!r}: {error}") from error


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
        _apply_override(raw, override, str(path))
    return validate_pipeline_config(raw, source=str(path), line_numbers=lines)


def validate_pipeline_config(raw: dict, source: str = "<dict>", line_numbers: dict[str, int] | None = None) -> PipelineConfig:
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            yaml_path = format_location(item["loc"])
            line = (line_numbers or {}).get(yaml_path) or (line_numbers or {}).get(yaml_path.rsplit(".", 1)[0])
            where = f"{yaml_path} (line {line})" if line else yaml_path
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown key (check the spelling; see the stage's schema for allowed keys)"
            problems.append((where or "<root>", message))
        raise ConfigError(source, problems) from None


def format_location(loc: tuple) -> str:
    """('dpo', 'judge', 'rules', 2, 'pattern') → 'dpo.judge.rules[2].pattern'; union tags are dropped."""
    parts: list[str] = []
    previous = None
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif isinstance(previous, int) and item in RULE_KINDS:
            pass  # the discriminator tag pydantic adds for a union member (`rules[2].regex_present`), not a YAML key
        elif isinstance(item, str) and item.startswith("function-"):
            pass  # a validator's name, not a YAML key
        else:
            parts.append(("." if parts else "") + str(item))
        previous = item
    return "".join(parts)


def _apply_override(raw: dict, override: str, source: str) -> None:
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


def stage_config_dict(cfg: PipelineConfig, stage: str) -> dict:
    """The part of the config a stage's hash covers: its own section plus what every stage shares."""
    shared = {"seed": cfg.seed, "device": cfg.device}
    if stage == "eval":
        # eval reads the held-out sets and judges that other sections declare
        section = cfg.model_dump(mode="json", exclude={"run_dir", "serve"})
    elif stage == "curate":
        # where curate runs (workers, local or Ray) never changes what it writes (tests/unit/test_curate_executor.py):
        # more workers after a kill must resume the finished shards, not start over
        section = cfg.curate.model_dump(mode="json", exclude={"executor"})
    else:
        section = getattr(cfg, stage).model_dump(mode="json")
    return {"stage": stage, **shared, "config": section}
