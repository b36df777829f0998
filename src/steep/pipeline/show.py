"""What a run looks like at a glance: the summary after `steep run`, and `steep show RUN_DIR`."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from steep.artifacts import read_manifest
from steep.log import console
from steep.report.build import HTML_NAME, MARKDOWN_NAME, default_out_dir
from steep.stages import STAGE_ORDER
from steep.tasks.names import HEADLINE, before_after


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "–" if value is None else str(value)


def headline(stage: str, metrics: dict) -> str:
    if stage in HEADLINE:
        metric = HEADLINE[stage]
        before, after = before_after(metrics, metric)
        return f"{metric.label}: {_fmt(before)} → {_fmt(after)}"
    if stage == "curate":
        return f"documents in → out: {_fmt(metrics.get('docs_in'))} → {_fmt(metrics.get('docs_out'))}"
    if stage == "synth":
        dropped = sum(metrics.get("dropped", {}).values())
        return f"sft {metrics.get('sft_rows')}, dpo {metrics.get('dpo_prompts')}, rs {metrics.get('rs_scenarios')} rows; {dropped} dropped"
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
    print_report_path(run_dir)
    console.print(f"log: {run_dir / 'run.log'}")


def print_report_path(run_dir: Path) -> None:
    """The report's path, or how to build one (a run that stopped before eval has none yet)."""
    report = default_out_dir(run_dir) / HTML_NAME
    if report.exists():
        console.print(f"report: {report} (and {report.with_name(MARKDOWN_NAME).name}; rebuild: steep report {run_dir})")
    else:
        console.print(f"report: none yet; build one from what ran: steep report {run_dir}")


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
    print_report_path(run_dir)
