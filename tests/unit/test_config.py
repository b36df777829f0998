"""Config errors fail fast, before any model loads, naming the YAML path (and line) of every problem."""

from __future__ import annotations

import subprocess
import sys

import pytest

from steep.pipeline.config import ConfigError, load_pipeline_config, validate_pipeline_config
from tests.conftest import write_yaml


def problems_of(raw: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_pipeline_config(raw)
    return caught.value.problems


def test_minimal_pipeline_validates(pipeline_dict):
    cfg = validate_pipeline_config(pipeline_dict)
    assert cfg.sft.lora.r == 8 and cfg.dpo.judge.rules[0].name == "cites_policy"


def test_unknown_key_names_its_path(pipeline_dict):
    pipeline_dict["sft"]["lora"] = {"rank": 4}
    [(path, message)] = problems_of(pipeline_dict)
    assert path == "sft.lora.rank" and "unknown key" in message


def test_wrong_type_names_its_path(pipeline_dict):
    pipeline_dict["dpo"]["samples_per_prompt"] = "many"
    [(path, message)] = problems_of(pipeline_dict)
    assert path == "dpo.samples_per_prompt" and "integer" in message


def test_invalid_rule_regex_names_rule_index_and_pattern(pipeline_dict):
    pipeline_dict["dpo"]["judge"]["rules"].append({"kind": "regex_absent", "name": "bad", "pattern": "(unclosed"})
    [(path, message)] = problems_of(pipeline_dict)
    assert path == "dpo.judge.rules[2].pattern"
    assert "(unclosed" in message and "regex" in message


def test_invalid_format_pattern(pipeline_dict):
    pipeline_dict["sft"]["format_pattern"] = "Answer: [a-"
    [(path, message)] = problems_of(pipeline_dict)
    assert path.startswith("sft") and "invalid regex" in message


def test_missing_file_names_its_path(pipeline_dict, tmp_path):
    pipeline_dict["sft"]["train"] = str(tmp_path / "nope.jsonl")
    pipeline_dict["curate"]["inputs"] = [str(tmp_path / "lake.jsonl")]
    found = dict(problems_of(pipeline_dict))
    assert "file not found" in found["sft.train"]
    assert "inputs[0]: file not found" in found["curate"]


def test_base_needs_exactly_one_source(pipeline_dict):
    pipeline_dict["base"]["hub_id"] = "org/model"
    [(path, message)] = problems_of(pipeline_dict)
    assert path == "base" and "exactly one" in message


def test_dtype_is_a_pipeline_setting_not_a_base_one(pipeline_dict):
    pipeline_dict["dtype"] = "bfloat16"
    assert validate_pipeline_config(pipeline_dict).dtype == "bfloat16"
    pipeline_dict["base"]["dtype"] = "float32"
    [(path, message)] = problems_of(pipeline_dict)
    assert path == "base.dtype" and "unknown key" in message


def test_every_problem_is_reported_at_once(pipeline_dict):
    pipeline_dict["seed"] = "x"
    pipeline_dict["cpt"]["typo"] = 1
    paths = {p for p, _ in problems_of(pipeline_dict)}
    assert {"seed", "cpt.typo"} <= paths


def test_yaml_errors_carry_line_numbers(pipeline_dict, tmp_path):
    pipeline_dict["sft"]["lora"] = {"rank": 4}
    path = write_yaml(tmp_path / "p.yaml", pipeline_dict)
    with pytest.raises(ConfigError) as caught:
        load_pipeline_config(path)
    text = str(caught.value)
    line = next(i for i, l in enumerate(path.read_text().splitlines(), 1) if "rank" in l)
    assert f"sft.lora.rank (line {line})" in text


def test_overrides_apply_and_are_validated(pipeline_dict, tmp_path):
    path = write_yaml(tmp_path / "p.yaml", pipeline_dict)
    cfg = load_pipeline_config(path, ["sft.lora.r=4"])
    assert cfg.sft.lora.r == 4
    with pytest.raises(ConfigError) as caught:
        load_pipeline_config(path, ["sft.lora.r=zero"])
    assert caught.value.problems[0][0].startswith("sft.lora.r")
    with pytest.raises(ConfigError):
        load_pipeline_config(path, ["no_equals_sign"])


def test_not_yaml_reports_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("run_dir: x\nsft: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_pipeline_config(path)
    assert "line" in str(caught.value)


def test_cli_rejects_bad_config_without_importing_torch(pipeline_dict, tmp_path):
    """The whole CLI round trip reports the bad config (exit 2, its YAML path) and never imports torch."""
    pipeline_dict["dpo"]["judge"]["rules"][0]["pattern"] = "POL-(\\d"
    path = write_yaml(tmp_path / "p.yaml", pipeline_dict)
    code = (
        "import sys; from steep.cli import app\n"
        "try:\n    app([ 'run', sys.argv[1]])\nexcept SystemExit as e:\n    code = e.code\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO_TORCH'); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "dpo.judge.rules[0].pattern" in done.stderr and "invalid regex" in done.stderr
    assert done.stdout.split() == ["NO_TORCH"]


def test_help_does_not_import_torch():
    code = "import sys; from steep.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass\nprint('TORCH' if 'torch' in sys.modules else 'NO_TORCH')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "NO_TORCH" in done.stdout and "run" in done.stdout


def test_shipped_yaml_validates(tmp_path, monkeypatch, demo_data):
    """examples/demo/pipeline.yaml validates once its data exists (paths point at the generated demo data)."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    target = tmp_path / "examples" / "demo" / "data"
    target.parent.mkdir(parents=True)
    target.symlink_to(demo_data)
    monkeypatch.chdir(tmp_path)
    cfg = load_pipeline_config(repo / "examples" / "demo" / "pipeline.yaml")
    assert cfg.run_dir.as_posix() == "runs/demo"
