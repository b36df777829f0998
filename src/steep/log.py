"""Console output: timestamped stage logs and the per-stage summary table (rich)."""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from steep.artifacts import read_manifest
from steep.config import STAGE_ORDER

console = Console(highlight=False)

# The number each stage exists to move, shown as "before → after" in summaries.
HEADLINE = {
    "curate": ("docs_in", "docs_out"),
    "cpt": ("domain_bpb_before", "domain_bpb_after"),
    "sft": ("format_adherence_before", "format_adherence_after"),
    "dpo": ("rule_pass_rate_before", "rule_pass_rate_after"),
    "rs": ("coherence_late_before", "coherence_late_after"),
}
HEADLINE_LABEL = {"curate": "documents in → out", "cpt": "domain bpb", "sft": "format adherence", "dpo": "rule pass rate", "rs": "late-turn coherence"}


def quiet_libraries() -> None:
    """Keep library chatter (progress bars, advisory warnings) out of the run log; errors still show."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    for name in ("transformers", "datasets", "trl", "peft", "accelerate", "torch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    except ImportError:
        pass


def stage_logger():
    start = time.time()

    def log(message: str) -> None:
        console.print(f"[dim]{time.time() - start:7.1f}s[/dim] {escape(message)}")

    return log


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "–" if value is None else str(value)


def headline(stage: str, metrics: dict) -> str:
    if stage in HEADLINE:
        before, after = HEADLINE[stage]
        return f"{HEADLINE_LABEL[stage]}: {_fmt(metrics.get(before))} → {_fmt(metrics.get(after))}"
    if stage == "eval":
        return f"{len(metrics.get('models', {}))} models evaluated"
    if stage == "serve":
        return f"smoke request ok in {_fmt(metrics.get('smoke_latency_s'))} s"
    if stage == "base":
        return f"{_fmt(metrics.get('params', metrics.get('architecture')))} parameters"
    return ""


def print_summary(outcomes, run_dir: Path) -> None:
    table = Table(title=f"steep run: {run_dir}")
    for column in ("stage", "action", "seconds", "metric"):
        table.add_column(column)
    for outcome in outcomes:
        table.add_row(outcome.stage, outcome.action, f"{outcome.wall_time_s:.1f}", headline(outcome.stage, outcome.metrics))
    console.print(table)
    report = run_dir / "eval" / "report.html"
    if report.exists():
        console.print(f"report: {report}")


def print_run(run_dir: Path) -> None:
    table = Table(title=f"steep run: {run_dir}")
    for column in ("stage", "status", "seconds", "inputs from", "metric"):
        table.add_column(column)
    for stage in STAGE_ORDER:
        manifest = read_manifest(run_dir / stage)
        partial = (run_dir / f"{stage}.partial").exists()
        if manifest is None:
            table.add_row(stage, "interrupted" if partial else "not run", "", "", "")
            continue
        sources = sorted({item["from_stage"] or "files" for item in manifest.get("inputs", {}).values()})
        status = manifest.get("status", "?") + (" (a newer attempt is partial)" if partial else "")
        table.add_row(stage, status, _fmt(manifest.get("wall_time_s")), ", ".join(sources), headline(stage, manifest.get("metrics", {})))
    console.print(table)
