"""synth: sft pairs, dpo prompts and rs scenarios written by a teacher from the company's documents.

    steep synth PIPELINE.yaml                # after curate (its documents are synth's input), before cpt and sft

Reads curate's `documents` (or `synth.documents`, a JSONL file or directory), asks the teacher (`synth.teacher`:
template, hf_local or openai) for rows per document and use case (the top-level `use_cases:`), passes every row
through PII, compliance, decontamination against the held-out files and dedup (`steep.synth.quality`), and
publishes `sft.jsonl`, `dpo_prompts.jsonl`, `rs_scenarios.jsonl` and `provenance.jsonl`. Later stages read them
instead of hand-written files with `sft.train: {from: synth}`, `dpo.prompts: {from: synth}`,
`rs.scenarios: {from: synth}`: the runner hashes them as synth's outputs, so a changed synth reruns what reads them.
Teacher replies are cached in `<run_dir>/cache/synth/` (outside the stage directory, which a rerun replaces): a
rerun after a config change pays only for the prompts it has not asked before.
"""

from __future__ import annotations

from pathlib import Path

from steep.stage import FileInput, StageContext, StageOutput, StageSpec
from steep.synth.config import HFTeacherConfig, SynthConfig

__all__ = ["STAGE", "SynthConfig"]


def consumes(cfg: SynthConfig) -> dict:
    inputs: dict = {"documents": FileInput(cfg.documents) if cfg.documents is not None else StageOutput("curate", "documents")}
    for i, path in enumerate(cfg.quality.heldout):
        inputs[f"quality.heldout[{i}]"] = FileInput(path)
    compliance = cfg.quality.compliance
    for key in ("terms_file", "patterns_file"):
        if compliance is not None and getattr(compliance, key) is not None:
            inputs[f"quality.compliance.{key}"] = FileInput(getattr(compliance, key))
    if isinstance(cfg.teacher, HFTeacherConfig):
        inputs["teacher"] = FileInput(cfg.teacher.path)  # its weights are part of what synth's rows depend on
    return inputs


def run(ctx: StageContext) -> dict:
    from steep.synth.run import run_synth

    cache_dir = Path(ctx.work_dir).parent / "cache" / "synth"
    metrics = run_synth(ctx.config, documents=Path(ctx.input_path("documents")), out_dir=ctx.work_dir, cache_dir=cache_dir, seed=ctx.seed, log=ctx.log)
    ctx.add_output("sft", ctx.work_dir / "sft.jsonl")
    ctx.add_output("dpo_prompts", ctx.work_dir / "dpo_prompts.jsonl")
    ctx.add_output("rs_scenarios", ctx.work_dir / "rs_scenarios.jsonl")
    ctx.add_output("provenance", ctx.work_dir / "provenance.jsonl")
    return metrics


STAGE = StageSpec(
    name="synth", config=SynthConfig, run=run, consumes=consumes, produces=("sft", "dpo_prompts", "rs_scenarios", "provenance"),
    uses_device=False,
)  # fmt: skip
