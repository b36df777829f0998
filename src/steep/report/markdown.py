"""Render a collected run (`collect.collect_run`) as a Markdown summary: the report's numbers without the charts,
for a pull request, a chat message or a terminal.

    from steep.report.markdown import render_markdown
    print(render_markdown(collect_run(run_dir)))
"""

from __future__ import annotations

import re

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
    use_case_table,
    moves_table,
    per_rule_table,
    scenario_table,
    selection_notes,
    short_hash,
    win_rate_rows,
    win_rates,
)


def _md(value) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def _cell(cell: Cell) -> str:
    return fmt(cell.value) + (f" ({fmt_delta(cell.delta)})" if cell.delta else "")


def _table(headers: list[str], rows: list[list]) -> list[str]:
    # numbers right-aligned, as in the HTML; the first column names the row
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" if i == 0 else "---:" for i, _ in enumerate(headers)) + " |"]
    lines += ["| " + " | ".join(c if isinstance(c, str) else _md(c) for c in row) + " |" for row in rows]
    return lines + [""]


# a pull request comment stays readable: the HTML report lists more, rs/dialogues.jsonl all of them
MAX_SCENARIO_ROWS = 50


def _longest_backtick_run(text: str) -> int:
    # a code span or fence must be longer than any backtick run inside it, or the text would close it
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _code_span(text: str) -> str:
    """`text` verbatim (model and judge text: no Markdown or HTML in it takes effect), on one line."""
    text = " ".join(str(text).split())
    ticks = "`" * (_longest_backtick_run(text) + 1)
    return f"{ticks} {text} {ticks}"


def _fenced(text: str) -> list[str]:
    """`text` verbatim in a fenced block, the fence longer than any backtick run inside it."""
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return [f"{fence}text", *text.splitlines(), fence, ""]


def _scenarios(run: dict) -> list[str]:
    headers, rows = scenario_table(run)
    notes = selection_notes(run)
    lines = ["### Candidates per scenario", "", kept_fraction(run), ""]
    lines += [f"- {note}" for note in notes] + ([""] if notes else [])
    lines += _table(headers, rows[:MAX_SCENARIO_ROWS])
    if len(rows) > MAX_SCENARIO_ROWS:
        lines += [f"(the first {MAX_SCENARIO_ROWS} of {len(rows)} scenarios)", ""]
    return lines


def _conversation(dialogue: dict) -> list[str]:
    lines = []
    for turn in conversation_turns(dialogue):
        if turn["role"] == "user":
            lines += ["**user**", ""]
        else:
            worst = f" — **worst turn**: {_code_span(turn['rationale'] or '–')}" if turn["worst"] else ""
            misses = f" (missed fact: {', '.join(turn['misses'])})" if turn["misses"] else ""
            lines += [f"**assistant, turn {turn['turn']}, score {fmt(turn['score'])}**{worst}{misses}", ""]
        lines += _fenced(turn["text"])
        if turn["cut"]:
            lines += [f"(… {turn['cut']} more characters: rs/dialogues.jsonl)", ""]
    return lines


def _conversation_pair(run: dict) -> list[str]:
    pair = run["dialogue_pair"]
    if not pair:
        return []
    lines = [f"### A kept and a rejected conversation: scenario {pair['kept'].get('scenario_id')}", "", "From the scenario where the kept candidate beat a rejected one by the most; system prompt left out.", ""]
    for side, dialogue in pair.items():
        lines += [f"#### {side}", "", conversation_title(dialogue), ""] + _conversation(dialogue)
    return lines


def render_markdown(run: dict, html_name: str = "report.html") -> str:
    lines = [f"# steep run report: `{run['run_dir']}`", "", f"Charts (loss curves, win rates, answer lengths, dialogue scores): [{html_name}]({html_name}).", ""]
    heads = headlines(run)
    funnel = run["funnel"]
    if funnel and funnel.get("docs_in") is not None:
        lines.append(f"- curate: documents in → out: {fmt(funnel['docs_in'])} → {fmt(funnel['docs_out'])}")
    lines += [f"- {stage}: {label}: {fmt(before.value)} → {_cell(after)}" for stage, label, before, after in heads]
    lines += [f"- leaks: {leak_summary(run['eval']['leaks'])}", f"- gates: {gate_summary(run['eval']['gates'])}", ""]

    if funnel and funnel["steps"]:
        lines += ["## Curation funnel", ""] + _table(["block", "in", "kept", "dropped"], [[s["block"], s["seen"], s["kept"], s["dropped"]] for s in funnel["steps"]])
    if funnel and funnel["reasons"]:
        lines += _table(["drop reason", "documents"], [[reason, count] for reason, count in funnel["reasons"].items()])

    losses = [[stage, phase, len(points), points[0][1], points[-1][1]] for stage, curves in run["losses"].items() for phase, points in curves.items()]
    if losses:
        lines += ["## Training loss", ""] + _table(["stage", "phase", "logged steps", "first loss", "last loss"], losses)
    columns, rounds = dpo_round_rows(run)
    if rounds:
        lines += ["### dpo rounds", ""] + _table(columns, rounds)

    columns, rows = eval_table(run)
    if rows:
        lines += ["## Metrics per model (eval, same held-out data; change from the model above)", ""]
        lines += _table(["model", *[m.label for m in columns]], [[model, *[_cell(c) for c in cells]] for model, cells in rows])
    models, rules = per_rule_table(run)
    if rules:
        lines += ["### Pass rate per rule (eval)", ""] + _table(["rule", *models], rules)
    moves = moves_table(run)
    if moves:
        lines += ["### What each stage moved, on its own held-out data", ""]
        lines += _table(["stage", "metric", "before", "after"], [[stage, metric.label, _cell(before), _cell(after)] for stage, metric, before, after in moves])

    models, scores = lm_eval_table(run)
    if scores:
        lines += ["## lm-evaluation-harness (change from the model to the left)", ""]
        lines += _table(["task", "metric", *models], [[task, metric, *[_cell(c) for c in cells]] for task, metric, cells in scores])

    models, rows = use_case_table(run)
    if rows:
        lines += ["## Per use case (change from the model to the left)", ""]
        lines += _table(["use case", "metric", *models], [[name, metric, *[_cell(c) for c in cells]] for name, metric, cells in rows])

    groups = win_rates(run)
    judge = run["eval"]["judge"]
    if groups:
        lines += ["## Win rate vs the previous stage", ""]
        if judge:
            lines += [f"evaluation judge: {judge_text(judge)}", ""]
        lines += _table(*win_rate_rows(run))

    lengths = run["answer_lengths"]
    if lengths:
        stats = [[model, len(v), sum(v) / len(v), sorted(v)[len(v) // 2], max(v)] for model, v in lengths.items() if v]
        lines += ["## Answer length (words)", ""] + _table(["model", "answers", "mean", "median", "max"], stats)

    if run["dialogues"]:
        summary = dialogue_summary(run)
        lines += ["## rs: kept vs rejected dialogues", ""]
        lines += _table(["", "dialogues", "mean score", "mean worst-turn score"], [[name, summary[name], summary["mean_score"][name], summary["mean_worst_turn"][name]] for name in ("kept", "rejected")])
        if summary["reasons"]:
            lines += _table(["why rejected", "dialogues"], [[reason, count] for reason, count in summary["reasons"].items()])
        lines += _scenarios(run) + _conversation_pair(run)

    lines += ["## Leak tests", "", leak_summary(run["eval"]["leaks"]), ""]
    hits = (run["eval"]["leaks"] or {}).get("hits") if isinstance(run["eval"]["leaks"], dict) else None
    if hits:
        lines += _table(["canary", "where"], [[hit.get("canary"), hit.get("where")] for hit in hits])
    gates = run["eval"]["gates"]
    lines += ["## Promotion gates", "", gate_summary(gates), ""]
    if gates:
        lines += _table(["stage", "metric", "value", "threshold", "result"], [[g.get("stage"), g.get("metric"), g.get("value"), g.get("threshold"), "pass" if g.get("passed") else "**FAIL**"] for g in gates])

    if run["lineage"]:
        lines += ["## Lineage", ""]
        rows = []
        for item in run["lineage"]:
            data = "; ".join(f"{d['name']}: " + (f"{d['from_stage']} output" if d.get("from_stage") else f"`{d.get('path')}`") + f" {short_hash(d.get('sha256'))}" for d in item["data"])
            rows.append([item["stage"], ", ".join(item["models_from"]) or "–", data or "–", item["judge"] or "–", f"`{short_hash(item['config_hash'])}`", f"`{short_hash(item['git_sha'])}`"])
        lines += _table(["stage", "model from", "data", "judge", "config", "git"], [[_md(c) if not c.startswith("`") else c for c in row] for row in rows])
    return "\n".join(lines).rstrip() + "\n"
