"""Promotion gates: the evaluator, validation at the YAML path, and a failed gate stopping `steep run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from steep.cli import app
from steep.pipeline.config import ConfigError, load_pipeline_config, validate_pipeline_config
from steep.tasks.gates import Gate, describe, evaluate_gate, evaluate_gates

CPT = {"general_bpb_before": 5.11, "general_bpb_after": 5.30, "domain_bpb_before": 5.11, "domain_bpb_after": 2.62}


def test_min_max_and_max_rise_bounds():
    [rise] = evaluate_gate(0, Gate(stage="cpt", metric="general_bpb_after", max_rise=0.1), {"cpt": CPT})
    assert rise["passed"] is False and rise["op"] == "<=" and rise["threshold"] == pytest.approx(5.21)
    assert rise["value"] == 5.30 and rise["source"] == "stage"
    assert describe(rise) == "cpt general_bpb_after = 5.3, must be <= 5.21 (general_bpb_before 5.11 + max_rise 0.1)"
    [ok] = evaluate_gate(1, Gate(stage="cpt", metric="general_bpb_after", max_rise=0.25), {"cpt": CPT})
    assert ok["passed"] is True
    low, high = evaluate_gate(2, Gate(stage="cpt", metric="domain_bpb_after", min=1.0, max=3.0), {"cpt": CPT})
    assert (low["op"], low["passed"], high["op"], high["passed"]) == (">=", True, "<=", True)


def test_per_model_metrics_come_from_eval_and_missing_ones_fail():
    metrics = {"dpo": {"pairs": 10}, "eval": {"models": {"dpo": {"win_rate_vs_previous": 0.61, "win_rate_vs_previous_low": 0.48}}, "leaks": {"count": 2}}}
    [win] = evaluate_gate(0, Gate(stage="dpo", metric="win_rate_vs_previous", min=0.55), metrics)
    assert win["passed"] and win["source"] == "eval" and win["value"] == 0.61
    [beyond_noise] = evaluate_gate(0, Gate(stage="dpo", metric="win_rate_vs_previous_low", min=0.5), metrics)
    assert beyond_noise["source"] == "eval" and not beyond_noise["passed"]  # 0.61, but its interval reaches 0.48
    [leaks] = evaluate_gate(1, Gate(stage="eval", metric="leaks.count", max=0), metrics)
    assert not leaks["passed"] and leaks["value"] == 2.0
    [missing] = evaluate_gate(2, Gate(stage="dpo", metric="tie_rate", max=0.5), metrics)
    assert missing["value"] is None and not missing["passed"] and "not reported" in describe(missing)
    rows = evaluate_gates([{"stage": "dpo", "metric": "pairs", "min": 1}, {"stage": "rs", "metric": "kept", "min": 1}], metrics)
    assert [(r["gate"], r["passed"]) for r in rows] == [(0, True)]  # rs has not run: not evaluated


@pytest.mark.parametrize(
    "gate, message",
    [
        ({"stage": "cpt", "metric": "x", "min": 1}, "gates[0].stage: 'cpt' is not a stage of this pipeline"),
        ({"stage": "curate", "metric": "docs_outt", "min": 1}, "gates[0].metric: unknown curate metric 'docs_outt'"),
        ({"stage": "eval", "metric": "leaks.count", "max": 0}, "gates[0].stage: 'eval' is not a stage"),
        ({"stage": "curate", "metric": "docs_out"}, "a gate needs a bound"),
        ({"stage": "curate", "metric": "docs_out", "min": 5, "max": 1}, "min 5.0 is above max 1.0"),
        ({"stage": "curate", "metric": "docs_out", "max_rise": 1}, "max_rise needs a baseline"),
        ({"stage": "curate", "metric": "docs_out", "min": 1, "on_fail": "warn"}, "gates[0].on_fail"),
    ],
)
def test_bad_gates_fail_validation_at_their_yaml_path(tmp_path, gate, message):
    lake = tmp_path / "lake.jsonl"
    lake.write_text('{"id": "1", "text": "hello"}\n')
    with pytest.raises(ConfigError) as error:
        validate_pipeline_config({"run_dir": str(tmp_path / "run"), "curate": {"inputs": [str(lake)]}, "gates": [gate]})
    assert message in str(error.value)


def test_known_metric_names_are_checked_for_training_stages(tmp_path):
    from steep.pipeline.gate_check import gate_problems

    stages, models = ["base", "curate", "cpt", "dpo", "eval"], ["base", "cpt", "dpo"]
    gates = [
        Gate(stage="cpt", metric="general_bpb_aftr", max=9),  # typo of a before/after name: knowable
        Gate(stage="cpt", metric="general_bpb_after", max_rise=0.1, over="general_bpb_befor"),
        Gate(stage="dpo", metric="win_rate_vs_previous", min=0.5),  # eval's per-model metric: fine
        Gate(stage="dpo", metric="tie_rate", max=0.9),  # not knowable here: checked when dpo has run
        Gate(stage="eval", metric="models.sft.format_adherence", min=0.5),
        Gate(stage="eval", metric="leaks.count", max=0),
        Gate(stage="eval", metric="models.dpo.lm_eval.arc_easy.acc", min=0.3),  # eval.lm_eval's scores: fine
        Gate(stage="eval", metric="models.sft.lm_eval.arc_easy.acc", min=0.3),  # no sft in this pipeline
    ]
    problems = dict(gate_problems(gates, stages, models, has_leaks=False))
    assert set(problems) == {"gates[0].metric", "gates[1].over", "gates[4].metric", "gates[5].metric", "gates[7].metric"}
    assert "models.<stage>.lm_eval.<task>.<metric>" in problems["gates[7].metric"]
    assert "general_bpb_before, general_bpb_after" in problems["gates[0].metric"]
    assert "needs eval.leaks" in problems["gates[5].metric"]


def _pipeline(tmp_path: Path, gates: str) -> Path:
    lake = tmp_path / "lake.jsonl"
    rows = [{"id": str(i), "text": f"Document number {i} talks about the warranty of product line {i * 7} in detail."} for i in range(6)]
    lake.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(f"run_dir: {tmp_path / 'run'}\ncurate:\n  inputs: [{lake}]\n  quality: {{min_words: 3}}\ngates:\n{gates}")
    return pipeline


def test_a_gate_set_impossibly_high_stops_the_run_naming_metric_value_and_threshold(tmp_path):
    pipeline = _pipeline(tmp_path, "  - {stage: curate, metric: docs_out, min: 1000}\n")
    result = CliRunner().invoke(app, ["run", str(pipeline)])
    assert result.exit_code == 1, result.output
    assert "promotion gate failed after stage curate: curate docs_out = 6, must be >= 1000 (min 1000)" in result.output
    assert "Traceback" not in result.output
    gates = json.loads((tmp_path / "run" / "gates.json").read_text())
    assert gates["results"][0] | {} == {**gates["results"][0], "passed": False, "value": 6.0, "threshold": 1000.0}
    manifest = json.loads((tmp_path / "run" / "curate" / "manifest.json").read_text())
    assert manifest["gates"][0]["passed"] is False
    # a rerun skips curate (up to date) yet checks its gates again: still stopped; loosened, it goes through
    assert CliRunner().invoke(app, ["run", str(pipeline)]).exit_code == 1
    pipeline.write_text(pipeline.read_text().replace("min: 1000", "min: 5"))
    assert CliRunner().invoke(app, ["run", str(pipeline)]).exit_code == 0
    assert json.loads((tmp_path / "run" / "gates.json").read_text())["results"][0]["passed"] is True


def test_a_marked_gate_records_the_failure_and_goes_on(tmp_path):
    pipeline = _pipeline(tmp_path, "  - {stage: curate, metric: dropped.compliance, min: 1, on_fail: mark}\n")
    result = CliRunner().invoke(app, ["run", str(pipeline)])
    assert result.exit_code == 0, result.output
    [row] = json.loads((tmp_path / "run" / "gates.json").read_text())["results"]
    assert row["passed"] is False and row["value"] is None and row["on_fail"] == "mark"
    cfg = load_pipeline_config(pipeline)
    assert cfg.gates[0].on_fail == "mark"


def test_bad_gate_yaml_names_the_path_and_line(tmp_path):
    pipeline = _pipeline(tmp_path, "  - {stage: curate, metric: docs_outt, min: 1}\n")
    with pytest.raises(ConfigError) as error:
        load_pipeline_config(pipeline)
    assert "gates[0].metric (line 6): unknown curate metric 'docs_outt'" in str(error.value)
