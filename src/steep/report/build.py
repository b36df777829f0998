"""Build the report files from a run directory: `report.html` (self-contained, with charts) and `report.md`.

    steep report runs/demo                       # the CLI; prints both paths
    write_report(Path("runs/demo"))              # -> (runs/demo/eval/report.html, runs/demo/eval/report.md)

eval calls it at the end of its run with its own directory and metrics (it has no manifest yet); `steep report`
rebuilds the same files later from what the run directory holds then (serve included, once it ran).
"""

from __future__ import annotations

from pathlib import Path

from steep.artifacts import atomic_write_text
from steep.report.collect import collect_run
from steep.report.html import render_html
from steep.report.markdown import render_markdown

HTML_NAME, MARKDOWN_NAME = "report.html", "report.md"


def default_out_dir(run_dir: Path) -> Path:
    """Beside eval's metrics when the run has an eval stage (where `steep run` says the report is), else the run dir."""
    return run_dir / "eval" if (run_dir / "eval").is_dir() else run_dir


def write_report(run_dir: Path, out_dir: Path | None = None, *, eval_dir: Path | None = None, eval_metrics: dict | None = None) -> tuple[Path, Path]:
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(run_dir)
    run = collect_run(run_dir, eval_dir=eval_dir, eval_metrics=eval_metrics)
    html_path, md_path = out_dir / HTML_NAME, out_dir / MARKDOWN_NAME
    atomic_write_text(html_path, render_html(run))
    atomic_write_text(md_path, render_markdown(run, HTML_NAME))
    return html_path, md_path
