"""`base.path` (a local Hugging Face directory) feeds the pipeline through the same loading code as from-scratch."""

from __future__ import annotations

import yaml

from steep.artifacts import read_manifest
from steep.pipeline.config import load_pipeline_config
from steep.pipeline.runner import run_pipeline
from tests.e2e.demo_run import write_test_pipeline


def test_local_model_directory_is_referenced_not_copied_and_cpt_trains_it(tiny_model_dir, demo_data, tmp_path):
    pipeline = write_test_pipeline(demo_data, tmp_path / "run", tmp_path / "p.yaml", {"cpt.optim.max_steps": 3})
    tree = yaml.safe_load(pipeline.read_text())
    tree["base"] = {"path": str(tiny_model_dir)}
    pipeline.write_text(yaml.safe_dump(tree))

    run_pipeline(load_pipeline_config(pipeline), stop="cpt")
    base = read_manifest(tmp_path / "run" / "base")
    assert base["outputs"]["model"]["reference"] == str(tiny_model_dir)
    assert not (tmp_path / "run" / "base" / "model").exists()
    cpt = read_manifest(tmp_path / "run" / "cpt")
    assert cpt["inputs"]["model"] == {"path": str(tiny_model_dir), "sha256": base["outputs"]["model"]["sha256"], "from_stage": "base"}
    assert cpt["metrics"]["domain_bpb_after"] > 0
