"""curate: run the curation chain on `curate.inputs` and publish `documents/` for cpt.

    steep curate PIPELINE.yaml

The chain itself lives in `steep.curate` (readers, repair, quality, gates, decontamination, PII, dedup); this
module declares the stage: its section (`CurateConfig`), every file its output depends on, what it produces.
`executor` (where the shards run, how many workers) never changes what curate writes, so it is left out of the
stage's config hash: more workers after a kill resume the finished shards instead of starting over.
"""

from __future__ import annotations

from pathlib import Path

from steep.curate.config import CurateConfig
from steep.stage import FileInput, StageContext, StageSpec


def input_files(curate: CurateConfig) -> dict[str, Path]:
    """Every file curate's output depends on: each input file (globs and directories expanded, so a file added to
    the lake reruns the stage) and the side files its config names (lexicons, classifier training sets, eval
    splits for decontamination, a local NER model). A user gate's Python code is not tracked: after changing it,
    rerun with `steep run ... --from curate`."""
    from steep.curate.readers.inputs import resolve_inputs as expand_inputs

    files = {f"inputs[{i}]": Path(p) for i, p in enumerate(expand_inputs(curate.inputs))}
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


def consumes(cfg: CurateConfig) -> dict:
    return {name: FileInput(path) for name, path in input_files(cfg).items()}


def run(ctx: StageContext) -> dict:
    from steep.curate.stage import run_curate

    metrics = run_curate(ctx.config, ctx.work_dir)
    ctx.add_output("documents", ctx.work_dir / "documents")
    ctx.add_output("excluded", ctx.work_dir / "excluded.jsonl")
    return metrics


STAGE = StageSpec(
    name="curate", config=CurateConfig, run=run, consumes=consumes, produces=("documents", "excluded"),
    hash_exclude=frozenset({"executor"}), uses_device=False,
)  # fmt: skip
