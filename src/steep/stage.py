"""What a stage is: its config section, the inputs it consumes, what it produces, and what it sees when it runs.

Every stage module (`steep.stages.*`) ends with one declaration the runner reads, e.g. sft's:

    STAGE = StageSpec(
        name="sft", config=SftConfig, run=run, produces=("adapter", "model", "chat_template"),
        consumes=lambda cfg: {"model": PreviousModel(), "train": FileInput(cfg.train), "heldout": FileInput(cfg.heldout)},
        makes_model=True, tasks=heldout_tasks,
    )

The runner hands `run(ctx)` only that stage's section (`ctx.config`) and the inputs it declared, resolved and
hashed; the stage's config hash covers exactly that section (less `hash_exclude`, keys that change how a stage
runs, never what it writes). Nothing here imports torch: the pipeline validates a YAML from these declarations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import ConfigDict, Field, PlainSerializer, PlainValidator, ValidationError

from steep.schema import StrictModel, _must_exist


@dataclass(frozen=True)
class FileInput:
    """A file or directory the user names in the YAML; its content hash is part of the stage's inputs."""

    path: Path | str


@dataclass(frozen=True)
class StageOutput:
    """An output of a named earlier stage (`curate`'s `documents`). `optional`: resolved to nothing when that
    stage is not in the pipeline, instead of failing validation."""

    stage: str
    output: str
    optional: bool = False


@dataclass(frozen=True)
class PreviousModel:
    """The model of the closest earlier stage that makes one (a stage left out or disabled passes it through)."""


@dataclass(frozen=True)
class EveryModel:
    """The model of every model-making stage in the pipeline, as inputs named `model.<stage>` (eval)."""


Input = Union[FileInput, StageOutput, PreviousModel, EveryModel]


class FromStage(StrictModel):
    """`dpo.prompts: {from: synth}` in a YAML: this data is an earlier stage's output, not a file the user wrote.

    The stage that holds the field declares it with `file_or_stage_output`, so the runner resolves and hashes it
    like any other upstream output (a changed synth reruns dpo; `steep show` names the stage it came from)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, populate_by_name=True)

    from_: Literal["synth"] = Field(alias="from")


def _path_or_from_stage(value: Any) -> Path | FromStage:
    if isinstance(value, FromStage):
        return value
    if isinstance(value, dict):
        try:
            return FromStage.model_validate(value)
        except ValidationError:
            raise ValueError(f"expected a file path or {{from: synth}}, got {value}") from None
    if not isinstance(value, str | Path):
        raise ValueError(f"expected a file path or {{from: synth}}, got {value!r}")
    return _must_exist(Path(value))


# A data file the user names, or `{from: synth}`: one error message either way (a plain union would report both).
FileOrStage = Annotated[
    Union[Path, FromStage],
    PlainValidator(_path_or_from_stage),
    PlainSerializer(lambda v: {"from": v.from_} if isinstance(v, FromStage) else str(v), return_type=Any),
]


def file_or_stage_output(value: Any, output: str) -> FileInput | StageOutput:
    """A field that is a path or `{from: STAGE}`, as the input the runner resolves: the file, or STAGE's `output`."""
    if isinstance(value, FromStage):
        return StageOutput(value.from_, output)
    return FileInput(value)


@dataclass(frozen=True)
class StageSpec:
    """A stage's declaration; see the module docstring."""

    name: str
    config: type[StrictModel]
    run: Callable[["StageContext"], dict]
    consumes: Callable[[Any], Mapping[str, Input]]
    produces: tuple[str, ...]
    makes_model: bool = False
    # False for a stage that never touches an accelerator (curate): a run of only such stages resolves no device,
    # so it never imports torch (~2-5 s of start-up around a sub-second stage).
    uses_device: bool = True
    # keys of the section that never change what the stage writes (where it runs, how many workers)
    hash_exclude: frozenset[str] = frozenset()
    # the held-out measures this stage reports, for eval to run on every model: section -> list of task configs
    tasks: Callable[[Any], list] | None = None


@dataclass(frozen=True)
class ResolvedInput:
    path: str
    sha256: str
    from_stage: str | None  # None: a file the user gave
    revision: str | None = None  # a hub model pinned by the base stage


@dataclass
class StageContext:
    """What a stage sees when it runs: its own config section, its named inputs, a private work directory."""

    name: str
    config: Any
    work_dir: Path
    inputs: dict[str, ResolvedInput]
    seed: int
    device: str
    dtype: str
    log: logging.Logger
    # metrics of the stages that ran before this one, for reports to quote (not an input: never hashed)
    upstream_metrics: dict[str, dict] = field(default_factory=dict)
    # the pipeline's promotion gates as plain dicts (`steep.tasks.gates`), for eval to report (never hashed)
    gates: list[dict] = field(default_factory=list)
    outputs: dict[str, dict] = field(default_factory=dict)

    def input_path(self, name: str) -> str:
        return self.inputs[name].path

    def add_output(self, name: str, path: Path) -> None:
        """Declare a file or directory inside work_dir as an output; hashed when the stage completes."""
        self.outputs[name] = {"path": Path(path).relative_to(self.work_dir).as_posix()}

    def add_outputs(self, *names: str) -> None:
        """`add_outputs("model", "pairs.jsonl")`: files or directories directly in work_dir, each declared under
        its name without the extension (`model`, `pairs`)."""
        for name in names:
            self.add_output(name.split(".", 1)[0], self.work_dir / name)

    def add_reference(self, name: str, reference: str, revision: str | None = None) -> None:
        """Declare an output that lives outside the run (a local model dir or a hub id), recorded, not copied."""
        self.outputs[name] = {"reference": reference, "revision": revision}
