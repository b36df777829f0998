"""curate (pipeline stage): run the curation chain on `curate.inputs` and publish `documents/` for cpt.

steep curate PIPELINE.yaml
"""

from __future__ import annotations

from steep.curate.stage import run_curate


def run(ctx) -> dict:
    metrics = run_curate(ctx.config.curate, ctx.work_dir)
    ctx.add_output("documents", ctx.work_dir / "documents")
    ctx.add_output("excluded", ctx.work_dir / "excluded.jsonl")
    return metrics
