"""The pipeline runner: stages in order, lineage in manifests, skip what is done, resume what was killed.

    steep run examples/demo/pipeline.yaml [--from sft] [--until dpo] [sft.lora.r=4 ...]

Each stage declares what it consumes (`steep.stage`); the runner resolves those inputs (user files, outputs of
earlier stages), hashes them, and hashes the stage's own config section. A stage whose `manifest.json` is
complete with the same hashes is skipped; otherwise it runs in `<run_dir>/<stage>.partial/`, and once it returns,
the manifest is written and the directory renamed to `<run_dir>/<stage>/`. A rerun stage writes new outputs, so
the stages that consume them see new input hashes and rerun too: exactly what depends on a change reruns, and
nothing else. `--from STAGE` reruns that stage and every later one regardless. A `.partial` directory whose
config and inputs still match is kept, so a killed stage resumes from its checkpoints. Everything the run says
also goes to `<run_dir>/run.log`.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

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
from steep.log import get_logger, run_log
from steep.pipeline.config import STAGES, PipelineConfig, enabled_stages, section, stage_config_dict
from steep.stage import EveryModel, FileInput, PreviousModel, ResolvedInput, StageContext, StageOutput
from steep.stages import STAGE_ORDER

PARTIAL_STATE = ".partial_state.json"
CHECKPOINTS = "checkpoints"  # a stage's resumable state; removed once the stage completes


class PipelineError(RuntimeError):
    pass


def model_stages(cfg: PipelineConfig) -> list[str]:
    return [stage for stage in enabled_stages(cfg) if STAGES[stage].makes_model]


def previous_model_stage(cfg: PipelineConfig, stage: str) -> str:
    """The closest earlier stage in the pipeline that makes a model (base, at the least)."""
    earlier = [s for s in model_stages(cfg) if STAGE_ORDER.index(s) < STAGE_ORDER.index(stage)]
    return earlier[-1]


def declared_inputs(cfg: PipelineConfig, stage: str) -> dict[str, FileInput | StageOutput]:
    """The stage's declared inputs with the pipeline's shape filled in: which stage's model is "the previous
    model", which models "every model" means, and optional upstreams that are not in this pipeline dropped."""
    present = enabled_stages(cfg)
    expanded: dict[str, FileInput | StageOutput] = {}
    for name, wanted in STAGES[stage].consumes(section(cfg, stage)).items():
        if isinstance(wanted, PreviousModel):
            expanded[name] = StageOutput(previous_model_stage(cfg, stage), "model")
        elif isinstance(wanted, EveryModel):
            for model_stage in model_stages(cfg):
                if STAGE_ORDER.index(model_stage) < STAGE_ORDER.index(stage):
                    expanded[f"model.{model_stage}"] = StageOutput(model_stage, "model")
        elif isinstance(wanted, StageOutput) and wanted.optional and wanted.stage not in present:
            continue
        else:
            expanded[name] = wanted
    return expanded


def resolve_stage_inputs(cfg: PipelineConfig, stage: str, run_dir: Path) -> dict[str, ResolvedInput]:
    """Each declared input as a path with its content hash (and the upstream stage it came from)."""
    resolved: dict[str, ResolvedInput] = {}
    for name, wanted in declared_inputs(cfg, stage).items():
        if isinstance(wanted, FileInput):
            resolved[name] = ResolvedInput(path=str(wanted.path), sha256=hash_path(Path(wanted.path)), from_stage=None)
            continue
        manifest = read_manifest(run_dir / wanted.stage)
        if manifest is None or manifest.get("status") != STATUS_COMPLETE:
            raise PipelineError(f"stage {stage!r} needs {wanted.stage!r}, which has not completed in {run_dir}")
        record = manifest["outputs"][wanted.output]
        if "reference" in record:
            resolved[name] = ResolvedInput(record["reference"], record["sha256"], wanted.stage, revision=record.get("revision"))
        else:
            resolved[name] = ResolvedInput(str(run_dir / wanted.stage / record["path"]), record["sha256"], wanted.stage)
    return resolved


def _input_hashes(inputs: dict[str, ResolvedInput]) -> dict[str, str]:
    return {name: spec.sha256 for name, spec in inputs.items()}


def is_up_to_date(manifest: dict | None, config_hash: str, inputs: dict[str, ResolvedInput]) -> bool:
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


def _prepare_work_dir(work_dir: Path, state: dict, log) -> None:
    """Keep a killed attempt's work dir only if it was started with the same config and inputs (to resume)."""
    state_file = work_dir / PARTIAL_STATE
    if work_dir.exists():
        previous = json.loads(state_file.read_text()) if state_file.exists() else None
        if previous == state:
            log.info(f"resuming from {work_dir}")
            return
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    atomic_write_json(state_file, state)


def _upstream_metrics(run_dir: Path, stage: str) -> dict[str, dict]:
    found = {}
    for earlier in STAGE_ORDER[: STAGE_ORDER.index(stage)]:
        manifest = read_manifest(run_dir / earlier)
        if manifest and manifest.get("status") == STATUS_COMPLETE:
            found[earlier] = manifest.get("metrics", {})
    return found


def run_stage(cfg: PipelineConfig, stage: str, run_dir: Path, device: str) -> dict:
    """Run one stage now (no skip check) and publish its directory; return its manifest."""
    log = get_logger(stage)
    spec = STAGES[stage]
    config_dict = stage_config_dict(cfg, stage)
    config_hash = hash_config(config_dict)
    inputs = resolve_stage_inputs(cfg, stage, run_dir)
    work_dir = run_dir / f"{stage}.partial"
    _prepare_work_dir(work_dir, {"config_hash": config_hash, "inputs": _input_hashes(inputs)}, log)

    ctx = StageContext(
        name=stage, config=section(cfg, stage), work_dir=work_dir, inputs=inputs, seed=cfg.seed, device=device,
        dtype=cfg.dtype, log=log, upstream_metrics=_upstream_metrics(run_dir, stage),
    )  # fmt: skip
    started = time.time()
    metrics = spec.run(ctx)
    wall = time.time() - started
    missing = [name for name in spec.produces if name not in ctx.outputs]
    if missing:
        raise PipelineError(f"stage {stage!r} finished without its declared outputs: {', '.join(missing)}")

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
    if (work_dir / CHECKPOINTS).exists():
        shutil.rmtree(work_dir / CHECKPOINTS)  # only needed to resume this attempt; the stage's outputs are complete
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


def _resolve_device(cfg: PipelineConfig, stages: list[str]) -> str:
    """The device for the stages about to run. Only stages that use one pay for resolving it: `auto` imports torch
    to ask for CUDA, which a curate-only run never needs (it records "cpu", where it runs)."""
    if not any(STAGES[stage].uses_device for stage in stages):
        return cfg.device if cfg.device != "auto" else "cpu"
    from steep.model.load import resolve_device

    return resolve_device(cfg.device)


def run_pipeline(cfg: PipelineConfig, *, start: str | None = None, stop: str | None = None) -> list[StageOutcome]:
    stages = enabled_stages(cfg)
    for name, value in (("--from", start), ("--until", stop)):
        if value is not None and value not in stages:
            raise PipelineError(f"{name} {value!r}: not an enabled stage (enabled: {', '.join(stages)})")
    first = stages.index(start) if start else 0
    last = stages.index(stop) if stop else len(stages) - 1
    run_dir = Path(cfg.run_dir)
    device = _resolve_device(cfg, stages[first : last + 1])
    outcomes: list[StageOutcome] = []
    with RunLock(run_dir), run_log(run_dir):
        for stage in stages[first : last + 1]:
            log = get_logger(stage)
            if start is None:
                manifest = read_manifest(run_dir / stage)
                config_hash = hash_config(stage_config_dict(cfg, stage))
                if is_up_to_date(manifest, config_hash, resolve_stage_inputs(cfg, stage, run_dir)):
                    log.info("up to date, skipped")
                    outcomes.append(StageOutcome(stage, "skipped", 0.0, manifest["metrics"]))
                    continue
            log.info("running")
            manifest = run_stage(cfg, stage, run_dir, device)
            log.info(f"done in {manifest['wall_time_s']:.1f}s")
            outcomes.append(StageOutcome(stage, "ran", manifest["wall_time_s"], manifest["metrics"]))
    return outcomes


def collect_metrics(run_dir: Path) -> dict[str, dict]:
    """`{stage: metrics}` for every completed stage in run order (what `steep show --json` prints)."""
    found = {}
    for stage in STAGE_ORDER:
        manifest = read_manifest(Path(run_dir) / stage)
        if manifest and manifest.get("status") == STATUS_COMPLETE:
            found[stage] = manifest.get("metrics", {})
    return found
