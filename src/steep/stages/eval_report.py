"""The run report: one self-contained HTML page (no scripts, no external assets) a reviewer can open offline."""

from __future__ import annotations

import html

from steep.tasks.names import EVAL_METRICS, STAGE_MOVES, before_after


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "–" if value is None else html.escape(str(value))


def render_report(eval_rows: dict[str, dict], stage_metrics: dict[str, dict]) -> str:
    """`eval_rows`: model stage -> metrics; `stage_metrics`: stage -> its manifest's metrics (what it moved)."""
    columns = [metric for metric in EVAL_METRICS if any(metric.key in row for row in eval_rows.values())]
    parts = [
        "<!doctype html><meta charset='utf-8'><title>steep run report</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}</style>",
        "<h1>steep run report</h1>",
        "<h2>Every stage's model on the same held-out data</h2><table><tr><th>model</th>",
    ]
    parts += [f"<th>{html.escape(metric.label)}</th>" for metric in columns] + ["</tr>"]
    for stage, row in eval_rows.items():
        parts.append(f"<tr><th>{stage}</th>" + "".join(f"<td>{_fmt(row.get(metric.key))}</td>" for metric in columns) + "</tr>")
    parts.append("</table><h2>What each stage moved (its own held-out data)</h2><table>")
    for stage, moves in STAGE_MOVES.items():
        metrics = stage_metrics.get(stage)
        if metrics is None:
            continue
        cells = ""
        for metric in moves:
            before, after = before_after(metrics, metric)
            if before is not None or after is not None:
                cells += f"<td>{html.escape(metric.label)}: {_fmt(before)} → {_fmt(after)}</td>"
        parts.append(f"<tr><th>{stage}</th>{cells}</tr>")
    curate = stage_metrics.get("curate")
    if curate:
        parts.append("</table><h2>Curation funnel</h2><table><tr><th>reason</th><th>documents dropped</th></tr>")
        parts += [f"<tr><td>{html.escape(reason)}</td><td>{count}</td></tr>" for reason, count in sorted(curate.get("dropped", {}).items())]
    parts.append("</table>")
    return "\n".join(parts) + "\n"
