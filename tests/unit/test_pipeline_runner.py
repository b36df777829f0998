"""Manifests, skip logic, downstream reruns, atomic publication and resume, on fake stages (no models)."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from steep.artifacts import atomic_write_bytes, hash_path, read_manifest
from steep.pipeline import runner
from steep.pipeline.config import STAGES as SPECS
from steep.pipeline.config import validate_pipeline_config

STAGES = ("base", "curate", "cpt", "sft", "dpo", "rs", "eval", "serve")


class FakeStages:
    """Stands in for every stage: records calls, writes each declared output from what it was handed (config and
    input hashes, as a deterministic stage would), can crash on request."""

    def __init__(self):
        self.calls: list[str] = []
        self.crash_in: str | None = None

    def run(self, ctx):
        self.calls.append(ctx.name)
        upstream = {name: spec.sha256 for name, spec in ctx.inputs.items()}
        for name in SPECS[ctx.name].produces:
            output = ctx.work_dir / name
            output.write_text(json.dumps({"stage": ctx.name, "config": ctx.config.model_dump(mode="json"), "inputs": upstream}, default=str))
            ctx.add_output(name, output)
        if self.crash_in == ctx.name:
            raise KeyboardInterrupt("simulated kill")
        return {"value": len(self.calls)}


@pytest.fixture
def fake(monkeypatch):
    stages = FakeStages()
    for name in STAGES:
        monkeypatch.setitem(SPECS, name, dataclasses.replace(SPECS[name], run=stages.run))
    return stages


def run(raw, **kwargs):
    return runner.run_pipeline(validate_pipeline_config(raw), **kwargs)


def test_first_run_runs_everything_and_writes_complete_manifests(fake, pipeline_dict, tmp_path):
    outcomes = run(pipeline_dict)
    assert fake.calls == list(STAGES)
    assert [o.action for o in outcomes] == ["ran"] * len(STAGES)
    run_dir = tmp_path / "run"
    for stage in STAGES:
        manifest = read_manifest(run_dir / stage)
        assert manifest["status"] == "complete"
        assert set(manifest) >= {"config", "config_hash", "inputs", "outputs", "metrics", "versions", "seed", "device", "wall_time_s"}
        assert set(manifest["versions"]) >= {"python", "torch", "transformers", "peft", "trl", "steep", "git_sha"}
        for output in manifest["outputs"].values():
            assert output["sha256"] == hash_path(run_dir / stage / output["path"])
        assert not (run_dir / f"{stage}.partial").exists()
    cpt_inputs = read_manifest(run_dir / "cpt")["inputs"]
    assert cpt_inputs["model"]["from_stage"] == "base" and cpt_inputs["documents"]["from_stage"] == "curate"
    assert cpt_inputs["heldout.domain[0]"]["from_stage"] is None


def test_second_run_skips_everything(fake, pipeline_dict):
    run(pipeline_dict)
    fake.calls.clear()
    outcomes = run(pipeline_dict)
    assert fake.calls == []
    assert all(o.action == "skipped" for o in outcomes)


def test_changed_stage_config_reruns_it_and_what_consumes_its_outputs(fake, pipeline_dict):
    run(pipeline_dict)
    fake.calls.clear()
    pipeline_dict["sft"]["lora"] = {"r": 4}
    run(pipeline_dict)
    assert fake.calls == ["sft", "dpo", "rs", "eval", "serve"]


def test_changed_input_file_reruns_its_stage(fake, pipeline_dict, tmp_path):
    run(pipeline_dict)
    fake.calls.clear()
    (tmp_path / "data" / "scenarios.jsonl").write_text(
        json.dumps({"id": "s2", "case_id": "CASE-00002", "user_turns": ["CASE-00002 hi"]}) + "\n"
    )
    run(pipeline_dict)
    assert fake.calls == ["rs", "eval", "serve"]


def test_crash_leaves_no_complete_looking_stage_and_rerun_resumes(fake, pipeline_dict, tmp_path):
    run_dir = tmp_path / "run"
    fake.crash_in = "cpt"
    with pytest.raises(KeyboardInterrupt):
        run(pipeline_dict)
    assert not (run_dir / "cpt").exists()
    assert (run_dir / "cpt.partial").exists() and read_manifest(run_dir / "cpt.partial") is None
    fake.crash_in = None
    fake.calls.clear()
    run(pipeline_dict)
    assert fake.calls == ["cpt", "sft", "dpo", "rs", "eval", "serve"]  # base and curate are not redone


def test_partial_dir_of_a_different_config_is_discarded(fake, pipeline_dict, tmp_path):
    fake.crash_in = "cpt"
    with pytest.raises(KeyboardInterrupt):
        run(pipeline_dict)
    stale = tmp_path / "run" / "cpt.partial" / "stale-checkpoint"
    stale.write_text("from another config")
    fake.crash_in = None
    pipeline_dict["cpt"]["seq_len"] = 128
    run(pipeline_dict)
    assert not stale.exists() and not (tmp_path / "run" / "cpt" / "stale-checkpoint").exists()


def test_from_and_until(fake, pipeline_dict):
    run(pipeline_dict, stop="sft")
    assert fake.calls == ["base", "curate", "cpt", "sft"]
    fake.calls.clear()
    run(pipeline_dict, start="cpt", stop="cpt")
    assert fake.calls == ["cpt"]


def test_from_a_stage_whose_inputs_are_missing_fails_clearly(fake, pipeline_dict):
    with pytest.raises(runner.PipelineError, match="needs 'cpt'"):
        run(pipeline_dict, start="sft")


def test_disabled_stage_is_bypassed(fake, pipeline_dict, tmp_path):
    pipeline_dict["cpt"]["enabled"] = False
    run(pipeline_dict)
    assert "cpt" not in fake.calls
    assert read_manifest(tmp_path / "run" / "sft")["inputs"]["model"]["from_stage"] == "base"


def test_run_says_what_it_does_through_logging_and_into_run_log(fake, pipeline_dict, tmp_path, caplog):
    run(pipeline_dict, stop="curate")
    with caplog.at_level(logging.INFO, logger="steep"):
        run(pipeline_dict, stop="cpt")
    said = {(record.name, record.getMessage()) for record in caplog.records}
    assert {("steep.base", "up to date, skipped"), ("steep.curate", "up to date, skipped"), ("steep.cpt", "running")} <= said
    log_text = (tmp_path / "run" / "run.log").read_text()
    assert "steep.cpt: running" in log_text and "steep.base: up to date, skipped" in log_text


def test_collect_metrics_lists_completed_stages(fake, pipeline_dict, tmp_path):
    run(pipeline_dict, stop="cpt")
    assert list(runner.collect_metrics(tmp_path / "run")) == ["base", "curate", "cpt"]


def test_run_lock_refuses_a_second_runner(tmp_path):
    with runner.RunLock(tmp_path):
        with pytest.raises(runner.PipelineError, match="another steep run"):
            with runner.RunLock(tmp_path):
                pass


def test_atomic_write_never_leaves_a_torn_file(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"old")

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # the temp file was cleaned up


def test_curate_depends_on_every_lake_file_and_every_side_file(tmp_path):
    """A file added to a lake directory, or an edited lexicon or eval split, must rerun curate: all are inputs."""
    from steep.curate.config import CurateConfig
    from steep.stages.curate import input_files as curate_input_files

    lake = tmp_path / "lake"
    (lake / "sub").mkdir(parents=True)
    for name in ("a.jsonl", "sub/b.md"):
        (lake / name).write_text('{"text": "x"}\n', encoding="utf-8")
    terms = tmp_path / "codenames.txt"
    terms.write_text("project falcon\n", encoding="utf-8")
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text('{"text": "an eval passage"}\n', encoding="utf-8")
    cfg = CurateConfig(inputs=[str(lake)], compliance={"terms_file": terms}, decontam={"eval_files": [str(heldout)]})

    files = curate_input_files(cfg)

    assert files == {
        "inputs[0]": lake / "a.jsonl",
        "inputs[1]": lake / "sub" / "b.md",
        "compliance.terms_file": terms,
        "decontam.eval_files[0]": heldout,
    }
