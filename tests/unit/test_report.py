"""The run report from a synthetic run directory (tests/report_run.py): every section there, charts with one
element per data point, no external asset, and the optional parts (win rates, leaks, gates, whole stages)
missing without an error. Fast: no model, no browser (tests/unit/test_report_browser.py opens it in Chromium).

    pytest tests/unit/test_report.py
"""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from steep.cli import app
from steep.report import svg
from steep.report.build import write_report
from steep.report.collect import collect_run
from steep.report.html import render_html
from steep.report.markdown import render_markdown
from tests.report_run import DPO_ROUNDS, DPO_STEPS, LOSS_STEPS, RS_CONTRAST, RS_NO_KEEPER, UNTRUSTED, eval_metrics, write_run

SECTIONS = ("overview", "curation", "losses", "metrics", "winrate", "lengths", "dialogues", "leaks", "gates", "lineage")


def _section(page: str, anchor: str) -> str:
    match = re.search(rf"<section id='{anchor}'>(.*?)</section>", page, re.DOTALL)
    assert match, f"no section {anchor}"
    return match.group(1)


def test_full_run_writes_both_files_with_every_section(tmp_path):
    run_dir = write_run(tmp_path / "run")
    html_path, md_path = write_report(run_dir)
    assert (html_path, md_path) == (run_dir / "eval" / "report.html", run_dir / "eval" / "report.md")
    page = html_path.read_text()
    for anchor in SECTIONS:
        _section(page, anchor)
    markdown = md_path.read_text()
    for heading in ("## Curation funnel", "## Training loss", "## Metrics per model", "## Win rate", "## Answer length", "## rs: kept vs rejected", "## Leak tests", "## Promotion gates", "## Lineage"):
        assert heading in markdown


def test_loss_charts_have_one_point_per_logged_step(tmp_path):
    page = render_html(collect_run(write_run(tmp_path / "run")))
    losses = _section(page, "losses")
    charts = re.findall(r"<svg.*?</svg>", losses, re.DOTALL)
    assert len(charts) == 5  # base, cpt, sft, dpo, rs
    points = [chart.count("class='point'") for chart in charts]
    assert points == [LOSS_STEPS["base"], LOSS_STEPS["cpt"], LOSS_STEPS["sft"], DPO_ROUNDS * DPO_STEPS, LOSS_STEPS["rs"]]
    dpo = charts[3]
    assert dpo.count("class='series'") == DPO_ROUNDS and "rounds in sequence" in dpo
    # round 1 starts where round 0 ended instead of drawing over it
    assert f"step {DPO_STEPS + 1}," in dpo
    assert "dpo round" in losses and "heldout rule pass rate" in losses  # the per-round table


def test_metrics_table_in_stage_order_with_deltas_and_direction(tmp_path):
    run = collect_run(write_run(tmp_path / "run"))
    assert list(run["eval"]["models"]) == ["base", "cpt", "sft", "dpo", "rs"]  # metrics.json's keys are sorted
    metrics = _section(render_html(run), "metrics")
    rows = re.findall(r"<tr><td class='l'>(\w+)</td>(.*?)</tr>", metrics)
    assert [name for name, _ in rows[:5]] == ["base", "cpt", "sft", "dpo", "rs"]
    cpt = rows[1][1]
    assert "<span class='d good'>-0.050</span>" in cpt  # domain bpb went down: better
    assert "<span class='d bad'>-0.020</span>" not in cpt
    assert "<span class='d good'>+0.100</span>" in cpt  # rule pass rate up: better


def test_win_rates_leaks_and_gates_are_shown(tmp_path):
    page = render_html(collect_run(write_run(tmp_path / "run")))
    win = _section(page, "winrate")
    assert win.count("class='bar'") == 8  # 4 models after base, raw and length-controlled
    assert "reference_embedding (reference_embedding:all-MiniLM-L6-v2@0a1b2c3d), 96 calls" in win and "0.5 = no better, no worse" in win
    assert win.count("<tr>") == 1 + 4  # the table beside the bars: header and 4 models
    assert win.count("class='whisker'") == 4  # each raw win rate's 95% interval; the length-controlled bars have none
    leaks = _section(page, "leaks")
    assert "canary-0003" in leaks and "1 canary leak(s) found (8 probes, 14 files checked)" in leaks and "banner ko" in leaks
    gates = _section(page, "gates")
    assert "1 of 2 gates failed" in gates and gates.count("class='l pass'") == 1 and gates.count("class='l fail'") == 1
    markdown = render_markdown(collect_run(tmp_path / "run"))
    assert "**FAIL**" in markdown and "canary-0003" in markdown and "| sft | 0.570 | 0.420–0.720 | no clear difference | 0.530 |" in markdown


def test_lengths_dialogues_and_lineage(tmp_path):
    run = collect_run(write_run(tmp_path / "run"))
    page = render_html(run)
    assert len(run["answer_lengths"]["base"]) == 8  # dialogue rows have no single answer
    assert _section(page, "lengths").count("<svg") == 5
    dialogues = _section(page, "dialogues")
    assert "kept" in dialogues and "rejected" in dialogues and "not_top" in dialogues
    assert dialogues.count("class='bar'") >= 2
    lineage = _section(page, "lineage")
    assert "rules: cites_policy, disclaimer" in lineage and "curate output" in lineage and "<code>data/lake.jsonl</code>" in lineage


def test_rs_candidates_per_scenario_and_kept_fraction(tmp_path):
    run = collect_run(write_run(tmp_path / "run"))
    dialogues = _section(render_html(run), "dialogues")
    assert "kept 4 of 15 (26.7%) candidate dialogues, in 4 of 5 scenarios" in dialogues
    assert f"no keeper in 1 scenario(s) (no candidate scored &gt;= rs.min_score in any round): {RS_NO_KEEPER}" in dialogues
    assert "tied in 1 scenario(s), counted per round" in dialogues
    assert "round 1: a candidate gave a due fact back in 1 of 3 scenario(s)" in dialogues
    table = dialogues.split("Candidates per scenario")[1].split("A kept and a rejected conversation")[0]
    rows = {cells[0]: cells[1:] for cells in (re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)) if cells}
    # candidates, kept, best score, worst score, the keeper's fact recall, tied
    assert rows["rs-0000"] == ["3", "1", "0.660", "0.600", "1.000", "no"]
    assert rows[RS_CONTRAST] == ["3", "1", "0.840", "0.350", "1.000", "no"]
    assert rows[RS_NO_KEEPER] == ["3", "0", "0.300", "0.300", "–", "yes"]
    markdown = render_markdown(run)
    assert "kept 4 of 15 (26.7%)" in markdown and f"| {RS_NO_KEEPER} | 3 | 0 | 0.300 | 0.300 | – | yes |" in markdown


def test_a_kept_and_a_rejected_conversation_side_by_side(tmp_path):
    run = collect_run(write_run(tmp_path / "run"))
    # the scenario whose rejected candidate scored far below its keeper, not the first one with both
    assert [(d["scenario_id"], d["rollout"]) for d in run["dialogue_pair"].values()] == [(RS_CONTRAST, 2), (RS_CONTRAST, 0)]
    assert "messages" not in run["dialogues"][0]  # only the two shown dialogues are read in full
    page = render_html(run)
    pair = _section(page, "dialogues").split("<div class='pair'>")[1]
    kept, rejected = pair.split("<div class='convo rejected'>")
    assert "kept: rollout 2, round 1, score 0.840" in kept and "rejected (not_top): rollout 0, round 1, score 0.350" in rejected
    for column, worst in ((kept, 3), (rejected, 1)):
        assert column.count("<div class='msg assistant") == 3 and column.count("<div class='msg user'>") == 3
        assert column.count("<div class='msg assistant worst'>") == 1
        marked = column.split("<div class='msg assistant worst'>")[1]
        assert f"assistant · turn {worst} · score" in marked and f"worst turn: disclaimer: missing (rollout {2 if column is kept else 0}, turn {worst})" in marked
    assert "missed fact: case_id" in rejected and "missed fact" not in kept
    assert "support assistant" not in pair  # the system prompt is left out
    assert "more characters (rs/dialogues.jsonl)" in kept  # the long reply is cut
    # model text is shown, never run
    assert "&lt;script&gt;alert(&#x27;rs&#x27;)&lt;/script&gt; &amp; &lt;b&gt;not bold&lt;/b&gt;" in rejected
    assert "alert('rs')" not in page and "<b>not bold" not in page
    markdown = render_markdown(run)
    shown = markdown.split(f"### A kept and a rejected conversation: scenario {RS_CONTRAST}")[1].split("## Leak tests")[0]
    assert shown.index("#### kept") < shown.index("#### rejected") and shown.count("**worst turn**") == 2
    assert "**assistant, turn 3, score 0.740** — **worst turn**: ` disclaimer: missing (rollout 2, turn 3) `" in shown
    assert f"```text\n{UNTRUSTED}\n```" in shown  # verbatim inside a fence: Markdown and HTML in it do nothing


def test_no_side_by_side_without_a_rejected_dialogue_or_an_rs_stage(tmp_path):
    run_dir = write_run(tmp_path / "run")
    path = run_dir / "rs" / "dialogues.jsonl"
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines() if json.loads(line)["kept"]))
    run = collect_run(run_dir)
    assert run["dialogue_pair"] is None
    dialogues = _section(render_html(run), "dialogues")
    assert "kept 4 of 4 (100.0%)" in dialogues and "class='pair'" not in dialogues
    assert "A kept and a rejected conversation" not in render_markdown(run)
    no_rs = collect_run(write_run(tmp_path / "no_rs", stages=("base", "sft", "eval")))
    assert no_rs["dialogues"] == [] and no_rs["dialogue_pair"] is None
    assert "id='dialogues'" not in render_html(no_rs) and "Candidates per scenario" not in render_markdown(no_rs)


def test_page_is_self_contained(tmp_path):
    page = render_html(collect_run(write_run(tmp_path / "run")))
    # the only URL is SVG's namespace name, which no browser fetches; the CSP forbids fetching anything else
    assert set(re.findall(r"https?://[^'\"\s]+", page)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<link|<img|<iframe|@import|\bsrc=", page)
    assert "default-src 'none'" in page


def test_eval_without_the_new_keys_degrades_to_notes(tmp_path):
    run_dir = write_run(tmp_path / "run", eval_extras=False)
    page = render_html(collect_run(run_dir))
    assert "no pairwise win rates in this run's eval" in _section(page, "winrate")
    assert "no leak test results in this run" in _section(page, "leaks")
    assert "no promotion gates in this run" in _section(page, "gates")
    markdown = render_markdown(collect_run(run_dir))
    assert "## Win rate" not in markdown and "no leak test results" in markdown


def test_a_curate_only_run_and_an_empty_dir_still_build(tmp_path):
    run_dir = write_run(tmp_path / "run", stages=("curate",))
    html_path, md_path = write_report(run_dir)
    assert html_path == run_dir / "report.html"  # no eval stage: the report goes in the run directory
    page = html_path.read_text()
    assert "documents kept after each curation block" in page and "id='losses'" not in page
    assert "100 → 80" in md_path.read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no completed stage" in write_report(empty)[0].read_text()


def test_torn_lines_and_a_stale_eval_are_skipped(tmp_path):
    run_dir = write_run(tmp_path / "run")
    with open(run_dir / "cpt" / "metrics.jsonl", "a") as f:
        f.write('{"phase": "train", "step": 13, "lo')  # a run killed mid-write
    partial = run_dir / "eval.partial"
    partial.mkdir()
    fresh = eval_metrics()
    fresh["models"]["rs"]["rule_pass_rate"] = 0.99
    # eval rerunning: its own metrics come from the caller, the old eval manifest is not the current lineage
    run = collect_run(run_dir, eval_dir=partial, eval_metrics=fresh)
    assert len(run["losses"]["cpt"]["train"]) == LOSS_STEPS["cpt"]
    assert run["eval"]["models"]["rs"]["rule_pass_rate"] == 0.99
    assert "eval" not in run["stages"] and run["answer_lengths"] == {}


def test_cli_report_and_show(tmp_path):
    run_dir = write_run(tmp_path / "run")
    runner = CliRunner()
    done = runner.invoke(app, ["report", str(run_dir)])
    assert done.exit_code == 0, done.output
    assert f"report: {run_dir / 'eval' / 'report.html'}" in done.output and (run_dir / "eval" / "report.md").exists()
    shown = runner.invoke(app, ["show", str(run_dir)], env={"COLUMNS": "300"})
    assert shown.exit_code == 0 and str(run_dir / "eval" / "report.html") in shown.output
    assert json.loads(runner.invoke(app, ["show", str(run_dir), "--json"]).output)["eval"]["gates"][1]["passed"] is False
    assert runner.invoke(app, ["report", str(tmp_path / "missing")]).exit_code == 1


def test_svg_helpers():
    assert svg.nice_ticks(0, 1, 5) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert svg.nice_ticks(1, 4, 6, integer=True) == [1.0, 2.0, 3.0, 4.0]
    assert svg.histogram_counts([0, 0.5, 1.0], [0, 0.5, 1.0]) == [1, 2]  # the last bin is closed
    assert svg.line_chart({}, title="t", x_label="x", y_label="y") == ""
    assert svg.line_chart({"a": [(1, float("nan"))]}, title="t", x_label="x", y_label="y") == ""
    chart = svg.line_chart({"a": [(1, 2.0)]}, title="one <point>", x_label="x", y_label="y")  # one point: no zero span
    assert chart.count("class='point'") == 1 and "one &lt;point&gt;" in chart and "nan" not in chart.lower()
    assert svg.hbar_chart([("m", [("s", None)])], title="t", x_label="x") == ""


def test_overview_cards_per_rule_table_and_eval_judge_in_lineage(tmp_path):
    run = collect_run(write_run(tmp_path / "run"))
    overview = _section(render_html(run), "overview")
    assert "1 canary leak(s) found" in overview and "1 of 2 gates failed" in overview
    assert "Pass rate per rule" in _section(render_html(run), "metrics")
    assert "| disclaimer | 0.000 | 0.100 | 0.200 | 0.300 | 0.400 |" in render_markdown(run)
    assert [item["judge"] for item in run["lineage"] if item["stage"] == "eval"] == ["reference_embedding: reference_embedding:all-MiniLM-L6-v2@0a1b2c3d"]
    quiet = _section(render_html(collect_run(write_run(tmp_path / "old", eval_extras=False))), "overview")
    assert "leak" not in quiet and "gates" not in quiet  # not measured: no card claiming anything


def test_other_shapes_of_the_newer_eval_keys(tmp_path):
    run_dir = write_run(tmp_path / "run")
    metrics = json.loads((run_dir / "eval" / "metrics.json").read_text())
    gates = metrics["gates"]
    # a bare leak count (ARCHITECTURE.md), gates wrapped in an object, a judge named by a string
    metrics |= {"leaks": 0, "gates": {"passed": False, "results": gates}, "eval_judge": "rules"}
    (run_dir / "eval" / "metrics.json").write_text(json.dumps(metrics))
    page = render_html(collect_run(run_dir))
    assert "no canary leaked<" in _section(page, "leaks")  # no "(– probes)" for a bare count
    assert "1 of 2 gates failed" in _section(page, "gates")
    assert "judge: rules" in _section(page, "winrate")
    metrics["eval_judge"] = {"kind": "openai", "model": "judge-7b"}  # the brief's shape: a model name, no identity
    (run_dir / "eval" / "metrics.json").write_text(json.dumps(metrics))
    assert "judge: openai (judge-7b)" in render_html(collect_run(run_dir))
    metrics |= {"leaks": "n/a", "gates": "n/a", "eval_judge": 3}
    (run_dir / "eval" / "metrics.json").write_text(json.dumps(metrics))
    page = render_html(collect_run(run_dir))
    assert "no leak test results" in page and "no promotion gates" in page


def test_lm_eval_scores_get_their_own_table_with_direction(tmp_path):
    run_dir = write_run(tmp_path / "run")
    metrics = eval_metrics()
    for index, model in enumerate(("base", "sft")):  # eval.lm_eval: models.<stage>.lm_eval.<task>.<metric>
        metrics["models"][model]["lm_eval"] = {"steep_tiny": {"acc": 0.5 + index / 4}, "wikitext": {"word_perplexity": 30.0 - index}}
    run = collect_run(run_dir, eval_metrics=metrics)
    section = _section(render_html(run), "lm_eval")
    assert "<th>base</th><th>sft</th>" in section and "cpt" not in section  # only the models that ran lm-eval
    assert "<span class='d good'>+0.250</span>" in section  # acc up: better
    assert "<span class='d good'>-1.000</span>" in section  # perplexity down: better
    assert "| steep_tiny | acc | 0.500 | 0.750 (+0.250) |" in render_markdown(run)
    assert "lm-evaluation-harness" not in render_markdown(collect_run(write_run(tmp_path / "plain")))
