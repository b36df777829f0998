"""A pipeline YAML with only `run_dir` and `curate` validates and runs, and never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from steep.pipeline.config import ConfigError, enabled_stages, validate_pipeline_config


def _lake(tmp_path: Path) -> str:
    path = tmp_path / "lake.jsonl"
    rows = [{"id": str(i), "text": f"Document number {i} talks about the warranty of product line {i * 7}."} for i in range(5)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


def test_a_curate_only_config_validates(tmp_path):
    cfg = validate_pipeline_config({"run_dir": str(tmp_path / "run"), "curate": {"inputs": [_lake(tmp_path)]}})
    assert enabled_stages(cfg) == ["curate"] and cfg.base is None


def test_a_model_stage_still_needs_base(tmp_path):
    raw = {"run_dir": str(tmp_path / "run"), "curate": {"inputs": [_lake(tmp_path)]}, "cpt": {}}
    with pytest.raises(ConfigError) as error:
        validate_pipeline_config(raw)
    assert "cpt needs a model" in str(error.value) and "no base section" in str(error.value)


def test_an_empty_pipeline_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no stage section"):
        validate_pipeline_config({"run_dir": str(tmp_path / "run")})


def test_the_curate_command_runs_without_importing_torch(tmp_path):
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(f"run_dir: {tmp_path / 'run'}\ncurate:\n  inputs: [{_lake(tmp_path)}]\n")
    script = (
        "import sys\n"
        "from steep.cli import app\n"
        f"app(['curate', {str(pipeline)!r}], standalone_mode=False)\n"
        "print('TORCH_LOADED' if 'torch' in sys.modules or 'transformers' in sys.modules else 'NO_TORCH')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "NO_TORCH"
    manifest = json.loads((tmp_path / "run" / "curate" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["device"] == "cpu"
    assert manifest["metrics"]["docs_out"] == 5
