"""`base.path` (a local Hugging Face directory) feeds the pipeline through the same loading code as from-scratch."""

from __future__ import annotations

import yaml

from steep.artifacts import read_manifest
from steep.config import TinyArchitectureConfig, load_pipeline_config
from steep.pipeline import run_pipeline
from steep.train.base import build_tiny_model, build_tokenizer, corpus_texts
from tests.e2e.demo_run import write_test_pipeline


def test_local_model_directory_is_referenced_not_copied_and_cpt_trains_it(demo_data, tmp_path):
    tokenizer = build_tokenizer(corpus_texts([demo_data / "general.jsonl"]), 400)
    arch = TinyArchitectureConfig(vocab_size=400, hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2)
    model_dir = tmp_path / "my-base-model"
    build_tiny_model(arch, tokenizer, seed=0).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)

    pipeline = write_test_pipeline(demo_data, tmp_path / "run", tmp_path / "p.yaml", {"cpt.optim.max_steps": 3})
    tree = yaml.safe_load(pipeline.read_text())
    tree["base"] = {"path": str(model_dir)}
    pipeline.write_text(yaml.safe_dump(tree))

    run_pipeline(load_pipeline_config(pipeline), stop="cpt", log=lambda m: None)
    base = read_manifest(tmp_path / "run" / "base")
    assert base["outputs"]["model"]["reference"] == str(model_dir)
    assert not (tmp_path / "run" / "base" / "model").exists()
    cpt = read_manifest(tmp_path / "run" / "cpt")
    assert cpt["inputs"]["model"] == {"path": str(model_dir), "sha256": base["outputs"]["model"]["sha256"], "from_stage": "base"}
    assert cpt["metrics"]["domain_bpb_after"] > 0
