"""Each stage is handed, and hashed on, only its own section and its declared inputs.

Fake stages stand in for the real ones (no models): each writes its declared outputs as a pure function of what
it was handed, as a deterministic stage would, so a stage's rerun shows downstream exactly when its outputs change.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from steep.pipeline import runner
from steep.pipeline.config import STAGES, validate_pipeline_config


@pytest.fixture
def calls(monkeypatch):
    ran: list[str] = []

    def fake_run(ctx):
        ran.append(ctx.name)
        assert type(ctx.config) is STAGES[ctx.name].config  # the stage's own section, not the whole pipeline
        handed = {"config": ctx.config.model_dump(mode="json"), "inputs": {n: i.sha256 for n, i in ctx.inputs.items()}}
        for output in STAGES[ctx.name].produces:
            path = ctx.work_dir / output
            path.write_text(json.dumps(handed, sort_keys=True, default=str))
            ctx.add_output(output, path)
        return {}

    for name in list(STAGES):
        monkeypatch.setitem(STAGES, name, dataclasses.replace(STAGES[name], run=fake_run))
    return ran


def run(raw: dict) -> None:
    runner.run_pipeline(validate_pipeline_config(raw))


def test_changing_curate_workers_reruns_nothing(calls, pipeline_dict):
    run(pipeline_dict)
    assert calls == ["base", "curate", "cpt", "sft", "dpo", "rs", "eval", "serve"]
    calls.clear()
    pipeline_dict["curate"]["executor"] = {"workers": 4}
    run(pipeline_dict)
    assert calls == []


def test_changing_dpo_beta_reruns_dpo_and_what_consumes_it_only(calls, pipeline_dict):
    run(pipeline_dict)
    calls.clear()
    pipeline_dict["dpo"]["beta"] = 0.3
    run(pipeline_dict)
    assert calls == ["dpo", "rs", "eval", "serve"]


def test_changing_a_held_out_file_reruns_the_stages_that_read_it(calls, pipeline_dict, tmp_path):
    run(pipeline_dict)
    calls.clear()
    scenarios = tmp_path / "data" / "scenarios.jsonl"  # rs's scenarios and held-out set, and so one of eval's tasks
    scenarios.write_text(json.dumps({"id": "s2", "case_id": "CASE-00002", "user_turns": ["CASE-00002 hi"]}) + "\n")
    run(pipeline_dict)
    assert calls == ["rs", "eval", "serve"]


def test_a_pipeline_of_base_curate_cpt_sft_validates_and_runs(calls, pipeline_dict):
    small = {key: pipeline_dict[key] for key in ("run_dir", "seed", "device", "base", "curate", "cpt", "sft")}
    cfg = validate_pipeline_config(small)
    assert cfg.dpo is None and cfg.rs is None and cfg.eval is None and cfg.serve is None
    runner.run_pipeline(cfg)
    assert calls == ["base", "curate", "cpt", "sft"]


def test_a_stage_whose_upstream_is_missing_fails_validation_naming_both(pipeline_dict):
    from steep.pipeline.config import ConfigError

    del pipeline_dict["curate"]
    with pytest.raises(ConfigError, match="cpt consumes curate's 'documents'"):
        validate_pipeline_config(pipeline_dict)


def test_eval_runs_the_training_stages_tasks_and_hashes_only_them(pipeline_dict):
    cfg = validate_pipeline_config(pipeline_dict)
    assert [task.kind for task in cfg.eval.tasks] == ["bpb", "bpb", "format", "rules", "coherence"]
    pipeline_dict["sft"]["format_pattern"] = "Answer: .+ Source: .+"
    assert validate_pipeline_config(pipeline_dict).eval.tasks[2].pattern == "Answer: .+ Source: .+"


def test_a_stage_that_skips_a_declared_output_fails(monkeypatch, pipeline_dict):
    def forgetful(ctx):
        return {}

    monkeypatch.setitem(STAGES, "base", dataclasses.replace(STAGES["base"], run=forgetful))
    with pytest.raises(runner.PipelineError, match="without its declared outputs: model"):
        runner.run_pipeline(validate_pipeline_config(pipeline_dict), stop="base")
