"""Render a collected run (`collect.collect_run`) as one self-contained HTML page.

    from steep.report.html import render_html
    Path("report.html").write_text(render_html(collect_run(run_dir)))

Self-contained means: inline CSS, inline SVG charts, one small inline script (click a table header to sort), and
a Content-Security-Policy that forbids every network fetch, so the page behaves the same offline, attached to an
email or opened from a CI artifact. The first inline script records any script error into #report-errors (the
browser test reads it back from the DOM).
"""

from __future__ import annotations

import html

from steep.report import svg
from steep.report.tables import (
    Cell,
    conversation_title,
    conversation_turns,
    dialogue_summary,
    dpo_round_rows,
    eval_table,
    fmt,
    fmt_delta,
    gate_summary,
    headlines,
    judge_text,
    kept_fraction,
    leak_summary,
    lm_eval_table,
    moves_table,
    per_rule_table,
    scenario_table,
    selection_notes,
    short_hash,
    use_case_table,
    win_rate_intervals,
    win_rate_rows,
    win_rates,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#222;max-width:1180px;margin:0 auto;padding:24px 28px 60px;line-height:1.45}
h1{margin:0 0 4px;font-size:26px}h2{margin:36px 0 10px;padding-bottom:4px;border-bottom:2px solid #eee;font-size:20px}
h3{font-size:15px;margin:18px 0 6px}.sub{color:#666;margin:0 0 14px}.note{color:#666;font-size:13px;margin:6px 0}
nav{font-size:13px;margin:8px 0 0}nav a{color:#4e79a7;margin-right:12px;text-decoration:none}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border-bottom:1px solid #e4e4e4;padding:4px 10px;text-align:right;vertical-align:top}
th{background:#f6f6f6;font-weight:600;cursor:pointer;user-select:none}td.l,th.l{text-align:left}tr:hover td{background:#fafafa}
.good{color:#1a7f37}.bad{color:#c62828}.d{font-size:11px;margin-left:4px}.pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{border:1px solid #e4e4e4;border-radius:8px;padding:10px 14px;min-width:170px}
.card .k{font-size:12px;color:#666}.card .v{font-size:20px;font-weight:600}.grid{display:flex;flex-wrap:wrap;gap:8px 20px}
.scroll{overflow-x:auto;max-width:100%}.chart{display:block;max-width:100%;height:auto}code{font-size:12px;background:#f4f4f4;padding:1px 4px;border-radius:3px}
.banner{border-radius:6px;padding:8px 12px;margin:8px 0;font-weight:600}.banner.ok{background:#e8f5e9;color:#1a7f37}.banner.ko{background:#fdecea;color:#c62828}
.banner.none{background:#f4f4f4;color:#666;font-weight:400}#report-errors:empty{display:none}#report-errors{color:#c62828}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:16px;align-items:start}.convo{min-width:0}.convo h4{font-size:14px;margin:0 0 6px}
.convo.kept h4{color:#1a7f37}.convo.rejected h4{color:#c62828}@media (max-width:760px){.pair{grid-template-columns:1fr}}
.msg{border:1px solid #e4e4e4;border-left:4px solid #e4e4e4;border-radius:6px;padding:6px 10px;margin:6px 0;font-size:13px}.msg.user{background:#f6f8fb}
.msg .who{font-size:11px;color:#666}.msg .text{white-space:pre-wrap;overflow-wrap:anywhere}.msg .cut{color:#666;font-style:italic}
.msg.worst{border-left-color:#c62828;background:#fdf3f2}.msg .why{color:#c62828;font-weight:600;font-size:12px;margin-top:4px}.msg .miss{color:#9a5b00;font-size:12px;margin-top:2px}
"""
# Runs before anything else so that an error in any later script is caught and written where a test can read it.
ERROR_TRAP = """window.__reportErrors=[];window.addEventListener('error',function(e){window.__reportErrors.push(String(e.message));
var box=document.getElementById('report-errors');if(box){box.textContent=window.__reportErrors.join('\\n');}});"""
# Click a header to sort its table (numbers numerically, '–' last); the only behaviour the page has.
SORT = """(function(){function key(td){var t=td?td.getAttribute('data-v')||td.textContent:'';var n=parseFloat(t);return isNaN(n)?t:n;}
document.querySelectorAll('table.sortable').forEach(function(table){table.querySelectorAll('th').forEach(function(th,col){
th.addEventListener('click',function(){var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);var asc=th.getAttribute('data-asc')!=='1';
rows.sort(function(a,b){var x=key(a.cells[col]),y=key(b.cells[col]);if(typeof x!==typeof y){return typeof x==='number'?-1:1;}return (x<y?-1:x>y?1:0)*(asc?1:-1);});
rows.forEach(function(r){body.appendChild(r);});th.setAttribute('data-asc',asc?'1':'0');});});});
document.documentElement.setAttribute('data-report-ready','1');})();"""


# a production rs judges thousands of dialogues: the page lists this many (and this many scenarios), the file
# keeps them all
MAX_DIALOGUE_ROWS = 300


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _cell(cell: Cell) -> str:
    delta = ""
    if cell.delta:  # an unchanged value needs no "+0.000" beside it
        tone = "" if cell.better is None else (" good" if cell.better else " bad")
        delta = f"<span class='d{tone}'>{fmt_delta(cell.delta)}</span>"
    value = "" if cell.value is None else f" data-v='{cell.value}'"
    return f"<td{value}>{fmt(cell.value)}{delta}</td>"


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    """`rows` of ready HTML cells (`<td>...</td>`), or plain values (escaped, the first `left` left-aligned)."""
    head = "".join(f"<th class='l'>{_e(h)}</th>" if i < left else f"<th>{_e(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = [c if isinstance(c, str) and c.startswith("<td") else (f"<td class='l'>{_e(fmt(c))}</td>" if i < left else f"<td>{_e(fmt(c))}</td>") for i, c in enumerate(row)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    # wrapped so a wide table scrolls on its own instead of widening the page
    return f"<div class='scroll'><table class='sortable'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def _section(anchor: str, title: str, body: str) -> str:
    return f"<section id='{anchor}'><h2>{_e(title)}</h2>{body}</section>"


def _leaked(run: dict) -> bool:
    leaks = run["eval"]["leaks"]
    return isinstance(leaks, dict) and bool(leaks.get("count", len(leaks.get("hits") or [])))


def _gate_failed(run: dict) -> bool:
    return any(not gate.get("passed") for gate in run["eval"]["gates"] or [])


def _overview(run: dict) -> str:
    cards = []
    for stage, label, before, after in headlines(run):
        cards.append(f"<div class='card'><div class='k'>{_e(stage)} · {_e(label)}</div><div class='v'>{fmt(before.value)} → {fmt(after.value)}</div></div>")
    funnel = run["funnel"]
    if funnel and funnel.get("docs_in") is not None:
        cards.insert(0, f"<div class='card'><div class='k'>curate · documents in → out</div><div class='v'>{fmt(funnel['docs_in'])} → {fmt(funnel['docs_out'])}</div></div>")
    for anchor, label, summary, bad in (("leaks", "leak tests", leak_summary(run["eval"]["leaks"]), _leaked(run)), ("gates", "promotion gates", gate_summary(run["eval"]["gates"]), _gate_failed(run))):
        if run["eval"][anchor]:  # measured: a card that says how it went, linked to its section
            color = "#c62828" if bad else "#1a7f37"
            cards.append(f"<div class='card'><div class='k'>eval · {label}</div><div class='v' style='font-size:15px;color:{color}'><a href='#{anchor}' style='color:inherit'>{_e(summary)}</a></div></div>")
    rows = [[stage, info.get("status"), f"{info['wall_time_s']:.1f}" if isinstance(info.get("wall_time_s"), (int, float)) else None] for stage, info in run["stages"].items()]
    return f"<div class='cards'>{''.join(cards)}</div>" + (_table(["stage", "status", "seconds"], rows, left=2) if rows else "<p class='note'>no completed stage in this run directory</p>")


def _funnel(run: dict) -> str:
    funnel = run["funnel"]
    if not funnel:
        return ""
    chart = svg.funnel_chart(funnel["steps"], title="documents kept after each curation block")
    reasons = _table(["reason", "documents dropped"], [[reason, count] for reason, count in funnel["reasons"].items()])
    return _section("curation", "Curation funnel", chart + "<h3>Drop reasons</h3>" + reasons)


def _sequenced(curves: dict[str, list[tuple[float, float]]]) -> dict[str, list[tuple[float, float]]]:
    """dpo logs each round's steps from 1 again; shift each round past the last so the curve reads left to right."""
    offset, shifted = 0.0, {}
    for phase, points in curves.items():
        shifted[phase] = [(x + offset, y) for x, y in points]
        offset = max([x for x, _ in shifted[phase]] + [offset])
    return shifted


def _losses(run: dict) -> str:
    charts = []
    for stage, curves in run["losses"].items():
        x_label = "step (rounds in sequence)" if len(curves) > 1 else "step"
        charts.append(svg.line_chart(_sequenced(curves), title=f"{stage} training loss", x_label=x_label, y_label="loss", width=540, height=240, x_name="step"))
    body = f"<div class='grid'>{''.join(charts)}</div>" if charts else ""
    columns, rows = dpo_round_rows(run)
    if rows:
        body += "<h3>dpo rounds (sample, judge, train, measure)</h3>" + _table([c.replace("_", " ") for c in columns], rows, left=0)
    return _section("losses", "Training loss", body) if body else ""


def _metrics(run: dict) -> str:
    columns, rows = eval_table(run)
    body = ""
    if rows:
        body += "<p class='note'>Every stage's model on eval's held-out data; the small number is the change from the model above (green: better for that metric).</p>"
        body += _table(["model", *[m.label for m in columns]], [[model, *[_cell(c) for c in cells]] for model, cells in rows])
        by_turn = {model: sorted((float(turn), score) for turn, score in (row.get("coherence_by_turn") or {}).items()) for model, row in run["eval"]["models"].items()}
        models, rules = per_rule_table(run)
        if rules:
            body += "<h3>Pass rate per rule (eval)</h3>" + _table(["rule", *models], rules)
        body += svg.line_chart(by_turn, title="coherence by assistant turn (eval)", x_label="assistant turn", y_label="coherence", width=560, height=240)
    moves = moves_table(run)
    if moves:
        body += "<h3>What each stage moved, on its own held-out data</h3>"
        body += _table(["stage", "metric", "before", "after"], [[stage, metric.label, _cell(before), _cell(after)] for stage, metric, before, after in moves], left=2)
    return _section("metrics", "Metrics per stage", body) if body else ""


def _lm_eval(run: dict) -> str:
    models, scores = lm_eval_table(run)
    if not scores:
        return ""
    note = "<p class='note'>lm-evaluation-harness tasks on every stage's model (eval.lm_eval; lm-eval's full results: eval/lm_eval.json); the small number is the change from the model to the left.</p>"
    return _section("lm_eval", "lm-evaluation-harness", note + _table(["task", "metric", *models], [[task, metric, *[_cell(c) for c in cells]] for task, metric, cells in scores], left=2))


def _use_cases(run: dict) -> str:
    models, rows = use_case_table(run)
    if not rows:
        return ""
    note = "<p class='note'>eval's metrics over each use case's held-out prompts (a row's meta.use_case, or the use case whose <code>matches</code> regex its user text matches); the small number is the change from the model to the left.</p>"
    return _section("use_cases", "Per use case", note + _table(["use case", "metric", *models], [[name, metric, *[_cell(c) for c in cells]] for name, metric, cells in rows], left=2))


def _win_rates(run: dict) -> str:
    groups = win_rates(run)
    judge = run["eval"]["judge"]
    judge_line = f"<p class='note'>evaluation judge: {_e(judge_text(judge))}</p>" if judge else ""
    if not groups:
        return _section("winrate", "Win rate vs the previous stage", judge_line + "<p class='banner none'>no pairwise win rates in this run's eval</p>")
    chart = svg.hbar_chart(groups, title="win rate of each model against the previous stage's", x_label="win rate (ties count half; whisker: 95% interval)", x_max=1.0,
                           reference=(0.5, "0.5 = no better, no worse"), colors={"win rate": svg.PALETTE[0], "length-controlled": svg.PALETTE[5]},
                           intervals=win_rate_intervals(run))  # fmt: skip
    headers, rows = win_rate_rows(run)
    return _section("winrate", "Win rate vs the previous stage", judge_line + chart + _table(headers, rows))


def _answer_lengths(run: dict) -> str:
    lengths = run["answer_lengths"]
    if not lengths:
        return ""
    edges = svg.bin_edges([v for values in lengths.values() for v in values], bins=10, lo=0)
    y_max = max(max(svg.histogram_counts(values, edges)) for values in lengths.values())
    charts = [
        svg.histogram({model: values}, edges, title=f"{model}: mean {sum(values) / len(values):.1f} words", x_label="words per answer", y_max=y_max, width=360, height=200, colors={model: svg.color_for(model, i)})
        for i, (model, values) in enumerate(lengths.items())
    ]
    return _section("lengths", "Answer length per model", "<p class='note'>Every single answer in eval's answers.jsonl (dialogue turns left out), in whitespace words; same bins and count axis in every panel.</p>" + f"<div class='grid'>{''.join(charts)}</div>")


def _dialogues(run: dict) -> str:
    dialogues = run["dialogues"]
    if not dialogues:
        return ""
    summary = dialogue_summary(run)
    scores = {name: [d["score"] for d in dialogues if d["kept"] == (name == "kept") and isinstance(d.get("score"), (int, float))] for name in ("kept", "rejected")}
    # scores live in [0, 1] and pile up near the top: start the axis at the lowest tenth any dialogue reached
    lowest = min([v for values in scores.values() for v in values], default=0.0)
    chart = svg.histogram(scores, svg.bin_edges([], lo=min(int(lowest * 10) / 10, 0.9), hi=1.0, bins=10), title="rs dialogue scores: kept vs rejected", x_label="dialogue score", colors={"kept": svg.PALETTE[2], "rejected": "#bbbbbb"})
    table = _table(["", "dialogues", "mean score", "mean worst-turn score"], [[name, summary[name], summary["mean_score"][name], summary["mean_worst_turn"][name]] for name in ("kept", "rejected")])
    reasons = _table(["why rejected", "dialogues"], [[reason, count] for reason, count in summary["reasons"].items()]) if summary["reasons"] else ""
    rows = [[d.get("scenario_id"), d.get("rollout"), d.get("round"), "kept" if d["kept"] else (d.get("reject_reason") or "rejected"), d.get("score"), d.get("worst_turn_score"), d.get("fact_recall")] for d in dialogues[:MAX_DIALOGUE_ROWS]]
    shown = "every dialogue" if len(dialogues) <= MAX_DIALOGUE_ROWS else f"the first {MAX_DIALOGUE_ROWS} of {len(dialogues)} dialogues (all of them: rs/dialogues.jsonl)"
    detail = f"<details><summary>{shown}</summary>" + _table(["scenario", "rollout", "round", "outcome", "score", "worst turn", "fact recall"], rows, left=1) + "</details>"
    return _section("dialogues", "rs: kept vs rejected dialogues", chart + table + reasons + _scenarios(run) + _conversation_pair(run) + detail)


def _scenarios(run: dict) -> str:
    headers, rows = scenario_table(run)
    notes = "".join(f"<p class='note'>{_e(note)}</p>" for note in selection_notes(run))
    more = f"<p class='note'>the first {MAX_DIALOGUE_ROWS} of {len(rows)} scenarios</p>" if len(rows) > MAX_DIALOGUE_ROWS else ""
    return f"<h3>Candidates per scenario</h3><p>{_e(kept_fraction(run))}</p>{notes}" + _table(headers, rows[:MAX_DIALOGUE_ROWS]) + more


def _turn(turn: dict) -> str:
    """One message of a shown conversation; the worst assistant turn gets a red border and the judge's reason."""
    worst = " worst" if turn.get("worst") else ""
    label = "user" if turn["role"] == "user" else f"assistant · turn {turn['turn']} · score {fmt(turn['score'])}"
    # every turn's reason is a hover away; the worst turn's is spelled out below it
    hover = f" title='{_e(turn['rationale'])}'" if turn.get("rationale") else ""
    cut = f"<span class='cut'> … {turn['cut']} more characters (rs/dialogues.jsonl)</span>" if turn["cut"] else ""
    marks = f"<div class='why'>worst turn: {_e(turn['rationale'] or '–')}</div>" if worst else ""
    if turn.get("misses"):
        marks += f"<div class='miss'>missed fact: {_e(', '.join(turn['misses']))}</div>"
    return f"<div class='msg {turn['role']}{worst}'><div class='who'{hover}>{_e(label)}</div><div class='text'>{_e(turn['text'])}{cut}</div>{marks}</div>"


def _conversation_pair(run: dict) -> str:
    pair = run["dialogue_pair"]
    if not pair:
        return ""
    columns = "".join(f"<div class='convo {side}'><h4>{_e(conversation_title(dialogue))}</h4>{''.join(_turn(turn) for turn in conversation_turns(dialogue))}</div>" for side, dialogue in pair.items())
    note = "<p class='note'>From the scenario where the kept candidate beat a rejected one by the most. Red: each conversation's worst turn (what the worst-turn term of its score counts), with the judge's reason; hover any turn's score for its reason. System prompt left out.</p>"
    return f"<h3>A kept and a rejected conversation: scenario {_e(pair['kept'].get('scenario_id'))}</h3>{note}<div class='pair'>{columns}</div>"


def _leaks(run: dict) -> str:
    leaks = run["eval"]["leaks"]
    if not isinstance(leaks, dict):
        return _section("leaks", "Leak tests", f"<p class='banner none'>{_e(leak_summary(leaks))}</p>")
    hits = leaks.get("hits") or []
    tone = "ko" if leaks.get("count", len(hits)) else "ok"
    body = f"<p class='banner {tone}'>{_e(leak_summary(leaks))}</p>"
    if hits:
        body += _table(["canary", "where"], [[hit.get("canary"), hit.get("where")] for hit in hits], left=2)
    return _section("leaks", "Leak tests", body)


def _gates(run: dict) -> str:
    gates = run["eval"]["gates"]
    if not gates:
        return _section("gates", "Promotion gates", f"<p class='banner none'>{_e(gate_summary(gates))}</p>")
    tone = "ok" if all(g.get("passed") for g in gates) else "ko"
    rows = [[g.get("stage"), g.get("metric"), g.get("value"), g.get("threshold"), f"<td class='l {'pass' if g.get('passed') else 'fail'}'>{'pass' if g.get('passed') else 'FAIL'}</td>"] for g in gates]
    return _section("gates", "Promotion gates", f"<p class='banner {tone}'>{_e(gate_summary(gates))}</p>" + _table(["stage", "metric", "value", "threshold", "result"], rows, left=2))


def _lineage(run: dict) -> str:
    if not run["lineage"]:
        return ""
    rows = []
    for item in run["lineage"]:
        data = "<br>".join(f"{_e(d['name'])}: " + (f"{_e(d.get('from_stage'))} output" if d.get("from_stage") else f"<code>{_e(d.get('path'))}</code>") + f" <span class='note'>{short_hash(d.get('sha256'))}</span>" for d in item["data"])
        outputs = "<br>".join(f"{_e(name)} <span class='note'>{short_hash(sha)}</span>" for name, sha in item["outputs"].items())
        rows.append([
            f"<td class='l'><b>{_e(item['stage'])}</b></td>",
            f"<td class='l'>{_e(', '.join(item['models_from']) or '–')}</td>",
            f"<td class='l'>{data or '–'}</td>",
            f"<td class='l'>{_e(item['judge'] or '–')}</td>",
            f"<td class='l'><code>{short_hash(item['config_hash'])}</code></td>",
            f"<td class='l'><code>{short_hash(item['git_sha'])}</code></td>",
            f"<td class='l'>{outputs or '–'}</td>",
        ])
    note = "<p class='note'>Which model, data, judge and config produced each stage's outputs (hashes: sha256, first 12 hex digits; the full ones are in each stage's manifest.json).</p>"
    return _section("lineage", "Lineage", note + _table(["stage", "model from", "data", "judge", "config", "git", "outputs"], rows, left=7))


SECTIONS = (
    ("overview", "Overview", None),
    ("curation", "Curation", _funnel),
    ("losses", "Loss", _losses),
    ("metrics", "Metrics", _metrics),
    ("lm_eval", "lm-eval", _lm_eval),
    ("use_cases", "Use cases", _use_cases),
    ("winrate", "Win rate", _win_rates),
    ("lengths", "Answer length", _answer_lengths),
    ("dialogues", "Dialogues", _dialogues),
    ("leaks", "Leaks", _leaks),
    ("gates", "Gates", _gates),
    ("lineage", "Lineage", _lineage),
)


def render_html(run: dict) -> str:
    sections = [_section("overview", "Overview", _overview(run))] + [render(run) for _, _, render in SECTIONS if render]
    shown = [(anchor, label) for anchor, label, _ in SECTIONS if any(f"<section id='{anchor}'>" in s for s in sections)]
    nav = "<nav>" + "".join(f"<a href='#{anchor}'>{_e(label)}</a>" for anchor, label in shown) + "</nav>"
    return "\n".join([
        "<!doctype html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>steep run report: {_e(run['run_dir'])}</title>",
        f"<script>{ERROR_TRAP}</script>",
        f"<style>{STYLE}</style></head><body>",
        "<div id='report-errors'></div>",
        f"<h1>steep run report</h1><p class='sub'><code>{_e(run['run_dir'])}</code></p>{nav}",
        *[s for s in sections if s],
        f"<script>{SORT}</script>",
        "</body></html>",
    ]) + "\n"  # fmt: skip
