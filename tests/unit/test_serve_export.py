"""`steep export` (merged model + the exact vLLM command; DoRA and modules_to_save merged instead) and the
`steep serve` command line (RUN_DIR or MODEL_DIR, --adapter, serve.* overrides, no open public port).

    PYTHONPATH=src python -m pytest tests/unit/test_serve_export.py -q
"""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from steep.cli import app as cli
from steep.model.export import vllm_lora_problems, vllm_max_lora_rank


def _adapter(model_dir, out, **lora):
    from peft import LoraConfig, get_peft_model

    from steep.model.load import load_model

    model = load_model(str(model_dir), "cpu")
    config = LoraConfig(target_modules=["q_proj", "v_proj"], init_lora_weights=False, **({"r": 4} | lora))
    get_peft_model(model, config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def run_dir(tiny_model_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    shutil.copytree(tiny_model_dir, run / "sft" / "model")
    return run


def test_vllm_checks_and_rank_rounding():
    assert vllm_lora_problems({"peft_type": "LORA", "r": 8}) == []
    assert "DoRA" in vllm_lora_problems({"peft_type": "LORA", "use_dora": True})[0]
    assert "modules_to_save" in vllm_lora_problems({"peft_type": "LORA", "modules_to_save": ["lm_head"]})[0]
    assert [vllm_max_lora_rank(r) for r in (1, 8, 9, 64, 300)] == [8, 8, 16, 64, 320]
    with pytest.raises(ValueError, match="merge"):
        vllm_max_lora_rank(1024)


def test_export_writes_model_adapters_and_exact_vllm_command(run_dir, tiny_model_dir, tmp_path):
    plain = _adapter(tiny_model_dir, tmp_path / "plain", r=12)
    dora = _adapter(tiny_model_dir, tmp_path / "dora", use_dora=True)
    out = tmp_path / "export"
    result = CliRunner().invoke(cli, ["export", str(run_dir), "--to", str(out), "--adapter", f"support={plain}",
                                      "--adapter", f"styled={dora}"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "model" / "config.json").exists()
    assert (out / "adapters" / "support" / "adapter_config.json").exists()
    assert (out / "merged" / "styled" / "config.json").exists()  # vLLM refuses DoRA: merged instead
    assert not (out / "adapters" / "styled").exists()
    expected = (f"vllm serve {out / 'model'} --served-model-name steep --host 127.0.0.1 --port 8000 --enable-lora "
                f"--lora-modules support={out / 'adapters' / 'support'} --max-lora-rank 16 --max-loras 1")  # fmt: skip
    record = json.loads((out / "export.json").read_text())
    assert record["vllm_serve"] == expected
    assert expected in result.output and "DoRA" in result.output
    assert (out / "vllm_serve.sh").read_text().splitlines()[2] == expected
    assert record["adapters"]["styled"]["vllm_lora"] is False
    assert record["adapters"]["styled"]["merge_parity_rel_diff"] < 1e-4


def test_serve_command_line_resolves_config_and_adapters(run_dir, tmp_path, monkeypatch):
    import steep.stages.serve as serve_stage

    calls = []
    monkeypatch.setattr(serve_stage, "serve_forever", lambda *args, **kwargs: calls.append((args, kwargs)))
    adapter_dir = tmp_path / "a"
    adapter_dir.mkdir()
    model_dir = run_dir / "sft" / "model"
    result = CliRunner().invoke(cli, ["serve", str(model_dir), "serve.port=9000", "serve.rate_limit.burst=5",
                                      "--adapter", f"support={adapter_dir}"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (model, cfg, _device, _dtype, _sha), kwargs = calls[0]
    assert (model, cfg.port, cfg.rate_limit.burst, cfg.host) == (str(model_dir), 9000, 5, "127.0.0.1")
    assert kwargs["adapters"] == {"support": str(adapter_dir)}
    bad = CliRunner().invoke(cli, ["serve", str(model_dir), "sft.lora.r=4"])
    assert bad.exit_code == 2 and "only serve.*" in bad.output
    missing = CliRunner().invoke(cli, ["serve", str(tmp_path / "nothing")])
    assert missing.exit_code == 1


def test_public_address_without_keys_is_refused(monkeypatch):
    from steep.serve.auth import ApiKey, KeyStore, check_exposure, key_digest

    check_exposure("127.0.0.1", KeyStore([]))
    with pytest.raises(RuntimeError, match="no API key"):
        check_exposure("0.0.0.0", KeyStore([]))
    check_exposure("0.0.0.0", KeyStore([ApiKey("a", key_digest("k"))]))
