"""The demo pipeline end to end: every stage completes, moves its metric the right way, reruns skip, config
changes rerun exactly the stages that depend on them, and a `kill -9` mid-cpt resumes.

One run of the demo (module fixture; only eval is shrunk) serves every assertion: about 10 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import signal
import shutil
import subprocess
import sys
import time

import pytest

from steep.artifacts import read_manifest
from steep.report import svg
from tests.e2e.demo_run import DATA_SCALE, REPO, steep, write_test_pipeline
from tests.unit.test_report_browser import CHROMIUM, open_page, pixels_near, screenshot

STAGES = ("base", "curate", "cpt", "sft", "dpo", "rs", "eval", "serve")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from steep.demo.domain import generate_demo_domain

    root = tmp_path_factory.mktemp("demo")
    generate_demo_domain(root / "data", seed=0, scale=DATA_SCALE)
    pipeline = write_test_pipeline(root / "data", root / "run", root / "pipeline.yaml")
    done = steep("run", str(pipeline))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"root": root, "pipeline": pipeline, "run_dir": root / "run", "stdout": done.stdout}


def metrics(demo, stage: str) -> dict:
    return read_manifest(demo["run_dir"] / stage)["metrics"]


def test_every_stage_completes_with_a_full_manifest(demo):
    for stage in STAGES:
        manifest = read_manifest(demo["run_dir"] / stage)
        assert manifest is not None and manifest["status"] == "complete", stage
        assert manifest["wall_time_s"] > 0 and manifest["versions"]["torch"]
    assert "steep run" in demo["stdout"] and "report:" in demo["stdout"]  # the summary table and report path


def test_show_json_uses_the_shared_metric_names(demo):
    done = steep("show", str(demo["run_dir"]), "--json")
    shown = json.loads(done.stdout)
    assert list(shown) == list(STAGES)
    assert {"docs_in", "docs_out", "dropped"} <= set(shown["curate"])
    assert {"domain_bpb_before", "domain_bpb_after", "general_bpb_before", "general_bpb_after"} <= set(shown["cpt"])
    assert {"format_adherence_before", "format_adherence_after"} <= set(shown["sft"])
    assert {"rule_pass_rate_before", "rule_pass_rate_after", "mean_answer_len_before", "mean_answer_len_after"} <= set(shown["dpo"])
    assert {"coherence_late_before", "coherence_late_after"} <= set(shown["rs"])
    rows = shown["eval"]["models"]
    assert set(rows) == {"base", "cpt", "sft", "dpo", "rs"}
    for row in rows.values():
        assert {"domain_bpb", "general_bpb", "format_adherence", "rule_pass_rate", "mean_answer_len", "coherence_late"} <= set(row)


def test_curate_blocks_restricted_and_post_cutoff_and_redacts(demo):
    m = metrics(demo, "curate")
    assert m["docs_in"] == m["docs_out"] + sum(m["dropped"].values())
    labels = [json.loads(l) for l in (demo["root"] / "data" / "labels.jsonl").read_text().splitlines()]
    kept = [json.loads(l) for l in (demo["run_dir"] / "curate" / "documents" / "part-00000.jsonl").read_text().splitlines()]
    kept_ids = {row["id"] for row in kept}
    assert not any(l["restricted"] or l["post_cutoff"] for l in labels if l["id"] in kept_ids)
    kept_text = "\n".join(row["text"] for row in kept)
    for label in labels:
        if label["id"] in kept_ids:
            for pii in label["pii"]:
                if pii["type"] in ("email", "card", "iban", "ssn"):
                    assert pii["value"] not in kept_text


def test_cpt_lowers_domain_bpb_and_replay_limits_forgetting(demo):
    m = metrics(demo, "cpt")
    assert m["domain_bpb_after"] < 0.8 * m["domain_bpb_before"]
    assert m["general_bpb_after"] - m["general_bpb_before"] < 0.25  # bits per byte, with replay on


def test_sft_teaches_the_house_format(demo):
    m = metrics(demo, "sft")
    assert m["format_adherence_after"] > m["format_adherence_before"]
    assert m["format_adherence_after"] >= 0.5
    assert m["trainable_pct"] < 50 and len(m["chat_template_sha256"]) == 64


def test_dpo_raises_the_strict_pass_rate_without_changing_length_or_format(demo):
    m = metrics(demo, "dpo")
    assert m["all_rules_pass_rate_after"] >= m["all_rules_pass_rate_before"] + 0.25  # every rule passed
    assert m["rule_pass_rate_after"] > m["rule_pass_rate_before"]  # partial credit, reported beside it
    assert abs(m["mean_answer_len_after"] / m["mean_answer_len_before"] - 1) <= 0.2
    rounds = m["rounds"]
    assert [r["round"] for r in rounds] == list(range(len(rounds))) and len(rounds) >= 1
    strict = [m["all_rules_pass_rate_before"]] + [r["heldout_all_rules_pass_rate"] for r in rounds]
    assert strict == sorted(strict), strict  # the per-round log shows the rate climbing
    assert all(r["win_rate_vs_previous"] > 0.5 for r in rounds)
    evaluated = metrics(demo, "eval")["models"]
    assert evaluated["dpo"]["format_adherence"] >= evaluated["sft"]["format_adherence"]  # sft's house format kept
    pairs = (demo["run_dir"] / "dpo" / "pairs.jsonl").read_text().splitlines()
    first = json.loads(pairs[0])
    assert {"prompt", "chosen", "rejected", "chosen_rationale", "rejected_rationale", "judge", "policy"} <= set(first)
    assert first["chosen_score"] > first["rejected_score"]
    round_rows = [json.loads(line) for line in (demo["run_dir"] / "dpo" / "metrics.jsonl").read_text().splitlines()]
    assert [r["round"] for r in round_rows if r["phase"] == "dpo_round"] == [r["round"] for r in rounds]


def test_rs_really_rejects_and_does_not_lower_late_turn_rules(demo):
    m = metrics(demo, "rs")
    assert m["coherence_late_after"] >= m["coherence_late_before"]  # the late rule pass rate does not fall
    # Late fact recall is measured and reported, not asserted to rise: the 1M-parameter demo model cannot copy a
    # 5-digit case number at all (0 of 256 sampled replies, even with the reply started as "For case CASE-"), so
    # there is nothing for rejection sampling to select; examples/smollm2 measures it on a real model.
    assert 0.0 <= m["fact_recall_late_before"] <= 1.0 and 0.0 <= m["fact_recall_late_after"] <= 1.0
    assert m["kept"] < m["dialogues"] and m["mean_score_kept"] >= m["mean_score_all"]
    assert "tied_scenarios" in m and isinstance(m["scenarios_without_keeper"], list)
    # every round says in how many scenarios selection could raise fact recall (rs warns when in none)
    assert all(0 <= r["scenarios_with_recalling_candidate"] <= r["scenarios_with_due_facts"] > 0 for r in m["rounds"])
    dialogues = [json.loads(line) for line in (demo["run_dir"] / "rs" / "dialogues.jsonl").read_text().splitlines()]
    assert len(dialogues) >= 4 * len({d["scenario_id"] for d in dialogues})  # K >= 4 candidates per scenario
    assert any(d["kept"] for d in dialogues) and any(not d["kept"] and d["reject_reason"] for d in dialogues)
    first = dialogues[0]
    assert len(first["turn_scores"]) >= 10 and len(first["turn_rationales"]) == len(first["turn_scores"])
    assert all({"kept", "worst_turn", "worst_turn_score", "fact_recall", "score"} <= set(d) for d in dialogues)
    assert 1 <= first["worst_turn"] <= len(first["turn_scores"])
    assert first["worst_turn_score"] == min(first["turn_scores"])


def test_eval_compares_each_model_with_the_previous_under_a_judge_that_trained_nothing(demo):
    m = metrics(demo, "eval")
    rows = m["models"]
    # the same name means the same number: eval reads all of cpt's held-out documents, as cpt did
    assert abs(rows["cpt"]["domain_bpb"] - metrics(demo, "cpt")["domain_bpb_after"]) < 1e-3
    assert "win_rate_vs_previous" not in rows["base"]
    for stage in ("cpt", "sft", "dpo", "rs"):
        assert 0.0 <= rows[stage]["win_rate_vs_previous"] <= 1.0 and 0.0 <= rows[stage]["win_rate_vs_previous_lc"] <= 1.0
    # sft learned the house answers: closer to the gold answers than cpt's text continuation, by the eval judge
    assert rows["sft"]["win_rate_vs_previous"] > 0.6 and rows["sft"]["reference_similarity"] > rows["cpt"]["reference_similarity"]
    judge = m["eval_judge"]["identity"]
    assert judge.startswith("reference_embedding:") and judge != metrics(demo, "dpo")["judge"]
    answers = [json.loads(line) for line in (demo["run_dir"] / "eval" / "answers.jsonl").read_text().splitlines()]
    compared = [a for a in answers if a["kind"] == "comparison"]
    assert {a["model"] for a in compared} == {"cpt", "sft", "dpo", "rs"} and all({"new", "old", "winner"} <= set(a) for a in compared)


def test_no_canary_leaks_and_every_gate_passes(demo):
    leaks = metrics(demo, "eval")["leaks"]
    assert leaks["count"] == 0 and leaks["checked_files"] > 10 and leaks["probes"] > 0, leaks["hits"]
    gates = json.loads((demo["run_dir"] / "gates.json").read_text())
    results = gates["results"] if isinstance(gates, dict) else gates
    assert results and all(g["passed"] for g in results), results


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
def test_the_demo_report_opens_in_chromium_and_its_charts_are_drawn(demo, tmp_path):
    report = demo["run_dir"] / "eval" / "report.html"
    dom, console = open_page(tmp_path, report)
    assert console == [] and 'data-report-ready="1"' in dom and '<div id="report-errors"></div>' in dom
    for section in ("win rate", "loss", "leak", "gate"):
        assert section in dom.lower(), section
    # which judge judged what: the evaluation judge's identity, and the rules that trained dpo (in the lineage)
    assert metrics(demo, "eval")["eval_judge"]["identity"] in dom
    assert all(rule in dom for rule in metrics(demo, "dpo")["judge"].split(":")[-1].split(","))
    image = screenshot(tmp_path, report, "1200,9000")
    for stage in ("base", "sft", "dpo", "rs"):  # every model's colour is drawn (histograms, bars, lines)
        assert pixels_near(image, svg.STAGE_COLORS[stage], tolerance=3) > 300, stage


def test_serve_smoke_and_template_hash_lineage(demo):
    served = json.loads((demo["run_dir"] / "serve" / "serve.json").read_text())
    assert served["chat_template_sha256"] == metrics(demo, "sft")["chat_template_sha256"] == metrics(demo, "rs")["chat_template_sha256"]
    smoke = json.loads((demo["run_dir"] / "serve" / "smoke.json").read_text())
    assert smoke["response"]["object"] == "chat.completion"


def test_rerun_skips_everything(demo):
    done = steep("run", str(demo["pipeline"]))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("up to date, skipped") == len(STAGES)


def test_more_curate_workers_rerun_nothing(demo):
    done = steep("run", str(demo["pipeline"]), "curate.executor.workers=2")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("up to date, skipped") == len(STAGES)


def test_every_training_stage_left_its_curve_and_the_run_its_log(demo):
    for stage in ("base", "cpt", "sft", "dpo", "rs"):
        curve = [json.loads(line) for line in (demo["run_dir"] / stage / "metrics.jsonl").read_text().splitlines()]
        steps = [row for row in curve if "loss" in row]  # dpo also logs one summary row a round
        assert steps and all(row["loss"] >= 0 for row in steps), stage
        assert metrics(demo, stage)["train_tokens_per_s"] > 0 and metrics(demo, stage)["peak_memory_bytes"] > 0
    log = (demo["run_dir"] / "run.log").read_text()
    assert "steep.curate.stage: curate: 400 in" in log and "steep.serve: done in" in log


def test_changed_sft_config_reruns_sft_and_downstream_only(demo, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(demo["run_dir"], run_dir)
    pipeline = write_test_pipeline(demo["root"] / "data", run_dir, tmp_path / "pipeline.yaml")
    before = {stage: read_manifest(run_dir / stage)["started_at"] for stage in STAGES}
    changed = ("sft.lora.r=4", "sft.optim.max_steps=3")  # few steps: this checks what reruns, not learning
    done = steep("run", str(pipeline), *changed, "--until", "sft")
    assert done.returncode == 0, done.stderr[-2000:]
    after = {stage: read_manifest(run_dir / stage)["started_at"] for stage in STAGES}
    assert [s for s in STAGES if after[s] != before[s]] == ["sft"]
    assert read_manifest(run_dir / "sft")["config"]["config"]["lora"]["r"] == 4
    # what is downstream of the changed stage is now stale: the next full run must redo it, not skip it
    done = steep("run", str(pipeline), *changed, "dpo.rounds=1", "dpo.optim.max_steps=2", "--from", "dpo", "--until", "dpo")
    assert done.returncode == 0, done.stderr[-2000:]
    assert read_manifest(run_dir / "dpo")["inputs"]["model"]["sha256"] == read_manifest(run_dir / "sft")["outputs"]["model"]["sha256"]


def test_kill_9_during_cpt_resumes_without_redoing_curate(demo, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for stage in ("base", "curate"):
        shutil.copytree(demo["run_dir"] / stage, run_dir / stage)
    pipeline = write_test_pipeline(demo["root"] / "data", run_dir, tmp_path / "pipeline.yaml", {"cpt.optim.checkpoint_steps": 2, "cpt.optim.max_steps": 8, "gates": []})  # 8 steps: a forgetting gate would stop it
    curate_started = read_manifest(run_dir / "curate")["started_at"]
    process = subprocess.Popen([sys.executable, "-m", "steep", "run", str(pipeline), "--until", "cpt"], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = run_dir / "cpt.partial" / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and not list(checkpoints.glob("checkpoint-*")):
        time.sleep(0.5)
    assert list(checkpoints.glob("checkpoint-*")), "cpt never wrote a checkpoint"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert read_manifest(run_dir / "cpt") is None  # nothing that looks complete
    done = steep("run", str(pipeline), "--until", "cpt")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "[curate] up to date, skipped" in done.stdout
    assert "[cpt] resuming from" in done.stdout
    assert read_manifest(run_dir / "curate")["started_at"] == curate_started
    assert read_manifest(run_dir / "cpt")["status"] == "complete"
    assert not (run_dir / "cpt.partial").exists()
