"""The run report: one self-contained HTML page (no scripts, no external assets) a reviewer can open offline."""

from __future__ import annotations

import html
from pathlib import Path

from steep.artifacts import read_manifest

STAGE_HEADLINES = {
    "curate": [("docs_in", "documents in"), ("docs_out", "documents out")],
    "cpt": [("domain_bpb_before", "domain bpb before"), ("domain_bpb_after", "domain bpb after"),
            ("general_bpb_before", "general bpb before"), ("general_bpb_after", "general bpb after")],
    "sft": [("format_adherence_before", "format adherence before"), ("format_adherence_after", "format adherence after")],
    "dpo": [("rule_pass_rate_before", "rule pass rate before"), ("rule_pass_rate_after", "rule pass rate after"),
            ("mean_answer_len_before", "mean answer words before"), ("mean_answer_len_after", "mean answer words after")],
    "rs": [("coherence_late_before", "late coherence before"), ("coherence_late_after", "late coherence after")],
}
EVAL_COLUMNS = ("domain_bpb", "general_bpb", "format_adherence", "rule_pass_rate", "mean_answer_len", "coherence_late")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def render_report(run_dir: Path, eval_rows: dict[str, dict]) -> str:
    parts = [
        "<!doctype html><meta charset='utf-8'><title>steep run report</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}</style>",
        f"<h1>steep run report</h1><p>run directory: <code>{html.escape(str(run_dir))}</code></p>",
        "<h2>Every stage's model on the same held-out data</h2><table><tr><th>model</th>",
    ]
    parts += [f"<th>{c}</th>" for c in EVAL_COLUMNS] + ["</tr>"]
    for stage, row in eval_rows.items():
        parts.append(f"<tr><th>{stage}</th>" + "".join(f"<td>{_fmt(row.get(c))}</td>" for c in EVAL_COLUMNS) + "</tr>")
    parts.append("</table><h2>What each stage moved</h2><table>")
    for stage, headlines in STAGE_HEADLINES.items():
        manifest = read_manifest(Path(run_dir) / stage)
        if not manifest:
            continue
        metrics = manifest.get("metrics", {})
        cells = "".join(f"<td>{label}: {_fmt(metrics.get(key))}</td>" for key, label in headlines)
        parts.append(f"<tr><th>{stage}</th>{cells}<td>{manifest.get('wall_time_s', 0):.1f} s</td></tr>")
    curate = read_manifest(Path(run_dir) / "curate")
    if curate:
        dropped = curate.get("metrics", {}).get("dropped", {})
        parts.append("</table><h2>Curation funnel</h2><table><tr><th>reason</th><th>documents dropped</th></tr>")
        parts += [f"<tr><td>{html.escape(reason)}</td><td>{count}</td></tr>" for reason, count in sorted(dropped.items())]
    parts.append("</table>")
    return "\n".join(parts) + "\n"
