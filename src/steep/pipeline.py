"""The pipeline runner: stages in order, lineage in manifests, skip what is done, resume what was killed.

    steep run examples/demo/pipeline.yaml [--from sft] [--until dpo] [sft.lora.r=4 ...]

For each stage the runner computes the config hash and the input hashes. A stage whose `manifest.json` is
complete with the same hashes is skipped; otherwise it runs in `<run_dir>/<stage>.partial/`, and once it returns,
the manifest is written and the directory renamed to `<run_dir>/<stage>/`. Once a stage runs, every later stage
runs too (training is not bit-reproducible, so "same inputs" would be a guess). A `.partial` directory whose
config and inputs still match is kept, so a killed stage resumes from its checkpoints.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from steep import __version__
from steep.artifacts import (
    MANIFEST_NAME,
    STATUS_COMPLETE,
    atomic_write_json,
    hash_config,
    hash_path,
    publish_directory,
    read_manifest,
)
from steep.config import STAGE_ORDER, PipelineConfig, stage_config_dict

# Stage name → module with a `run(ctx) -> metrics` function. Imported only when the stage runs, so that
# validating a config or printing --help never imports torch.
STAGE_MODULES = {
    "base": "steep.train.base",
    "curate": "steep.curate.pipeline_stage",
    "cpt": "steep.train.cpt",
    "sft": "steep.train.sft",
    "dpo": "steep.train.dpo",
    "rs": "steep.train.rs",
    "eval": "steep.evaluate.stage",
    "serve": "steep.serve.stage",
}
MODEL_STAGES = ("base", "cpt", "sft", "dpo", "rs")
PARTIAL_STATE = ".partial_state.json"


class PipelineError(RuntimeError):
    pass


@dataclass
class InputSpec:
    path: str
    from_stage: str | None  # None: a file the user gave
    sha256: str


@dataclass
class StageContext:
    """What a stage sees: its config, named inputs, a private work directory, the seed and the device."""

    name: str
    config: PipelineConfig
    run_dir: Path
    work_dir: Path
    inputs: dict[str, InputSpec]
    seed: int
    device: str
    log: Callable[[str], None]
    outputs: dict[str, dict] = field(default_factory=dict)

    @property
    def stage_config(self):
        return getattr(self.config, self.name)

    def input_path(self, name: str) -> str:
        return self.inputs[name].path

    def add_output(self, name: str, path: Path) -> None:
        """Declare a file or directory inside work_dir as an output; hashed when the stage completes."""
        self.outputs[name] = {"path": Path(path).relative_to(self.work_dir).as_posix()}

    def add_reference(self, name: str, reference: str, revision: str | None = None) -> None:
        """Declare an output that lives outside the run (a local model dir or a hub id), recorded, not copied."""
        self.outputs[name] = {"reference": reference, "revision": revision}


def model_source_stage(cfg: PipelineConfig, stage: str) -> str:
    """The closest earlier stage that produces a model (a disabled stage passes its input through)."""
    earlier = MODEL_STAGES[: MODEL_STAGES.index(stage)] if stage in MODEL_STAGES else MODEL_STAGES
    for candidate in reversed(earlier):
        if candidate == "base" or getattr(cfg, candidate).enabled:
            return candidate
    return "base"


def enabled_stages(cfg: PipelineConfig) -> list[str]:
    return [s for s in STAGE_ORDER if s not in ("cpt", "sft", "dpo", "rs") or getattr(cfg, s).enabled]


def declared_inputs(cfg: PipelineConfig, stage: str) -> dict[str, tuple[str, Path | str]]:
    """Each stage's named inputs: ('file', path) for user files, ('stage', (stage, output)) for upstream outputs."""
    files: dict[str, tuple] = {}

    def add_files(prefix: str, paths) -> None:
        for index, path in enumerate(paths):
            files[f"{prefix}[{index}]"] = ("file", Path(path))

    if stage == "base":
        if cfg.base.from_scratch is not None:
            add_files("corpus", cfg.base.from_scratch.corpus)
            add_files("chat_corpus", cfg.base.from_scratch.chat_corpus)
            add_files("tokenizer_corpus", cfg.base.from_scratch.tokenizer_corpus)
        elif cfg.base.path is not None:
            files["base_model"] = ("file", Path(cfg.base.path))
    elif stage == "curate":
        for name, path in curate_input_files(cfg.curate).items():
            files[name] = ("file", path)
    elif stage == "cpt":
        files["model"] = ("stage", ("base", "model"))
        files["documents"] = ("stage", ("curate", "documents"))
        add_files("replay", cfg.cpt.replay.files)
        add_files("heldout.domain", cfg.cpt.heldout.domain)
        add_files("heldout.general", cfg.cpt.heldout.general)
    elif stage in ("sft", "dpo", "rs"):
        files["model"] = ("stage", (model_source_stage(cfg, stage), "model"))
        section = getattr(cfg, stage)
        for name in ("train", "prompts", "scenarios", "heldout"):
            if hasattr(section, name):
                files[name] = ("file", Path(getattr(section, name)))
    elif stage == "eval":
        for model_stage in MODEL_STAGES:
            if model_stage == "base" or getattr(cfg, model_stage).enabled:
                files[f"model.{model_stage}"] = ("stage", (model_stage, "model"))
    elif stage == "serve":
        files["model"] = ("stage", (model_source_stage(cfg, "serve"), "model"))
        files["eval"] = ("stage", ("eval", "metrics"))
    return files


def curate_input_files(curate) -> dict[str, Path]:
    """Every file curate's output depends on: each input file (globs and directories expanded, so a file added to
    the lake reruns the stage) and the side files its config names (lexicons, classifier training sets, eval
    splits for decontamination, a local NER model). A user gate's Python code is not tracked: after changing it,
    rerun with `steep run ... --from curate`."""
    from steep.curate.readers.inputs import resolve_inputs as resolve_curate_inputs

    files = {f"inputs[{i}]": Path(p) for i, p in enumerate(resolve_curate_inputs(curate.inputs))}
    for gate in ("compliance", "time"):
        section = getattr(curate, gate)
        for key in ("terms_file", "patterns_file"):
            if getattr(section, key) is not None:
                files[f"{gate}.{key}"] = Path(getattr(section, key))
        if section.classifier is not None:
            files[f"{gate}.classifier.train"] = Path(section.classifier.train)
    for i, path in enumerate(curate.decontam.eval_files):
        files[f"decontam.eval_files[{i}]"] = Path(path)
    if curate.pii.ner_model is not None:
        files["pii.ner_model"] = Path(curate.pii.ner_model)
    return files


def resolve_inputs(cfg: PipelineConfig, stage: str, run_dir: Path) -> dict[str, InputSpec]:
    resolved: dict[str, InputSpec] = {}
    for name, (kind, target) in declared_inputs(cfg, stage).items():
        if kind == "file":
            resolved[name] = InputSpec(path=str(target), from_stage=None, sha256=hash_path(target))
            continue
        upstream, output = target
        manifest = read_manifest(run_dir / upstream)
        if manifest is None or manifest.get("status") != STATUS_COMPLETE:
            raise PipelineError(f"stage {stage!r} needs {upstream!r}, which has not completed in {run_dir}")
        record = manifest["outputs"][output]
        if "reference" in record:
            resolved[name] = InputSpec(path=record["reference"], from_stage=upstream, sha256=record["sha256"])
        else:
            resolved[name] = InputSpec(path=str(run_dir / upstream / record["path"]), from_stage=upstream, sha256=record["sha256"])
    return resolved


def _input_hashes(inputs: dict[str, InputSpec]) -> dict[str, str]:
    return {name: spec.sha256 for name, spec in inputs.items()}


def is_up_to_date(manifest: dict | None, config_hash: str, inputs: dict[str, InputSpec]) -> bool:
    if not manifest or manifest.get("status") != STATUS_COMPLETE:
        return False
    recorded_inputs = {name: item["sha256"] for name, item in manifest.get("inputs", {}).items()}
    return manifest.get("config_hash") == config_hash and recorded_inputs == _input_hashes(inputs)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version(), "steep": __version__}
    for package in ("torch", "transformers", "peft", "trl", "accelerate", "datasets"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    found["git_sha"] = _git_sha()
    return found


def _git_sha() -> str | None:
    source_dir = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source_dir, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _prepare_work_dir(work_dir: Path, state: dict, log: Callable[[str], None]) -> None:
    """Keep a killed attempt's work dir only if it was started with the same config and inputs (to resume)."""
    state_file = work_dir / PARTIAL_STATE
    if work_dir.exists():
        previous = json.loads(state_file.read_text()) if state_file.exists() else None
        if previous == state:
            log(f"resuming from {work_dir}")
            return
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    atomic_write_json(state_file, state)


def run_stage(cfg: PipelineConfig, stage: str, run_dir: Path, device: str, log: Callable[[str], None]) -> dict:
    """Run one stage now (no skip check) and publish its directory; return its manifest."""
    config_dict = stage_config_dict(cfg, stage)
    config_hash = hash_config(config_dict)
    inputs = resolve_inputs(cfg, stage, run_dir)
    work_dir = run_dir / f"{stage}.partial"
    _prepare_work_dir(work_dir, {"config_hash": config_hash, "inputs": _input_hashes(inputs)}, log)

    ctx = StageContext(name=stage, config=cfg, run_dir=run_dir, work_dir=work_dir, inputs=inputs, seed=cfg.seed, device=device, log=log)
    started = time.time()
    module = importlib.import_module(STAGE_MODULES[stage])
    metrics = module.run(ctx)
    wall = time.time() - started

    outputs = {}
    for name, record in ctx.outputs.items():
        if "reference" in record:
            reference_hash = hash_config({"reference": record["reference"], "revision": record["revision"]})
            outputs[name] = {**record, "sha256": reference_hash}
        else:
            outputs[name] = {**record, "sha256": hash_path(work_dir / record["path"])}
    manifest = {
        "stage": stage,
        "status": STATUS_COMPLETE,
        "config": config_dict,
        "config_hash": config_hash,
        "inputs": {name: {"path": spec.path, "sha256": spec.sha256, "from_stage": spec.from_stage} for name, spec in inputs.items()},
        "outputs": outputs,
        "metrics": metrics,
        "seed": cfg.seed,
        "device": device,
        "versions": _versions(),
        "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(),
        "wall_time_s": round(wall, 3),
        "host": platform.node(),
    }
    (work_dir / PARTIAL_STATE).unlink(missing_ok=True)
    checkpoints = work_dir / "checkpoints"
    if checkpoints.exists():
        shutil.rmtree(checkpoints)  # only needed to resume this attempt; the stage's outputs are complete
    atomic_write_json(work_dir / MANIFEST_NAME, manifest)
    publish_directory(work_dir, run_dir / stage)
    return manifest


class RunLock:
    """One `steep run` per run directory at a time; the OS drops the lock if the process dies (even kill -9)."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / ".lock"
        self.handle = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "w")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PipelineError(f"another steep run is using {self.path.parent}") from None
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


@dataclass
class StageOutcome:
    stage: str
    action: str  # "ran" | "skipped"
    wall_time_s: float
    metrics: dict


def run_pipeline(cfg: PipelineConfig, *, start: str | None = None, stop: str | None = None, log: Callable[[str], None] = print) -> list[StageOutcome]:
    from steep.train.common import resolve_device

    stages = enabled_stages(cfg)
    for name, value in (("--from", start), ("--until", stop)):
        if value is not None and value not in stages:
            raise PipelineError(f"{name} {value!r}: not an enabled stage (enabled: {', '.join(stages)})")
    first = stages.index(start) if start else 0
    last = stages.index(stop) if stop else len(stages) - 1
    run_dir = Path(cfg.run_dir)
    device = resolve_device(cfg.device)
    outcomes: list[StageOutcome] = []
    with RunLock(run_dir):
        must_run = start is not None
        for stage in stages[first : last + 1]:
            stage_log = _prefixed(log, stage)
            config_hash = hash_config(stage_config_dict(cfg, stage))
            if not must_run:
                manifest = read_manifest(run_dir / stage)
                if is_up_to_date(manifest, config_hash, resolve_inputs(cfg, stage, run_dir)):
                    stage_log("up to date, skipped")
                    outcomes.append(StageOutcome(stage, "skipped", 0.0, manifest["metrics"]))
                    continue
            stage_log("running")
            manifest = run_stage(cfg, stage, run_dir, device, stage_log)
            stage_log(f"done in {manifest['wall_time_s']:.1f}s")
            outcomes.append(StageOutcome(stage, "ran", manifest["wall_time_s"], manifest["metrics"]))
            must_run = True  # everything downstream of a rerun stage reruns
    return outcomes


def _prefixed(log: Callable[[str], None], stage: str) -> Callable[[str], None]:
    return lambda message: log(f"[{stage}] {message}")


def collect_metrics(run_dir: Path) -> dict[str, dict]:
    """`{stage: metrics}` for every completed stage in run order (what `steep show --json` prints)."""
    found = {}
    for stage in STAGE_ORDER:
        manifest = read_manifest(Path(run_dir) / stage)
        if manifest and manifest.get("status") == STATUS_COMPLETE:
            found[stage] = manifest.get("metrics", {})
    return found
