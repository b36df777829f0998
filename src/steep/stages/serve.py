"""serve (pipeline stage): check the final model is servable, smoke-test the API in process, write serve.json.

    steep run PIPELINE.yaml --until serve     then     steep serve RUN_DIR [serve.port=9000 ...]
    steep serve MODEL_DIR --adapter support=runs/a/sft/adapter [--config PIPELINE.yaml]   # any HF directory

The stage loads the final model, checks its chat template is the one sft trained with (sft's
`chat_template.jinja` artifact, when the pipeline has sft), sends `smoke_prompt` through the real
OpenAI-compatible app (guard included) and records the reply and its latency. `serve.json` names the model
directory and the template hash that `steep serve` checks again at start-up.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from steep.artifacts import atomic_write_json
from steep.serve.config import ServeConfig
from steep.stage import PreviousModel, StageContext, StageOutput, StageSpec


class ServeStageConfig(ServeConfig):
    """The `serve:` section: how the server runs (`ServeConfig`), plus the stage's smoke request."""

    enabled: bool = True
    smoke_prompt: str = "What can you help me with?"


class TemplateMismatch(RuntimeError):
    pass


def consumes(cfg: ServeStageConfig) -> dict:
    return {
        "model": PreviousModel(),
        "chat_template": StageOutput("sft", "chat_template", optional=True),
        "eval": StageOutput("eval", "metrics", optional=True),  # serve what eval has measured
    }


def build_app(model_dir: str, serve_cfg: ServeConfig, device: str, dtype: str, expected_sha: str | None,
              adapters: dict[str, str] | None = None, keys=None):  # fmt: skip
    """The app over `model_dir` (plus LoRA `adapters`, name -> directory), after checking the chat template."""
    from steep.model.load import load_model, load_tokenizer, resolve_device
    from steep.model.template import chat_template_sha256
    from steep.serve.app import create_app
    from steep.serve.hf_engine import HFEngine

    tokenizer = load_tokenizer(model_dir)
    sha = chat_template_sha256(tokenizer)
    if expected_sha is not None and sha != expected_sha:
        raise TemplateMismatch(f"{model_dir}: chat template sha256 {sha[:12]}… differs from the one sft trained with ({expected_sha[:12]}…)")
    clash = sorted(set(adapters or {}) & {serve_cfg.model_name})
    if clash:
        raise ValueError(f"adapter name {clash[0]!r} is the base model's name (serve.model_name); rename one")
    device = resolve_device(device)
    model = load_model(model_dir, device, dtype)
    engine = HFEngine(model, tokenizer, device, serve_cfg.model_name, adapters=adapters,
                      max_batch_size=serve_cfg.batching.max_batch_size)  # fmt: skip
    return create_app(engine, serve_cfg, chat_template_sha256=sha, keys=keys), sha


def run(ctx: StageContext) -> dict:
    from fastapi.testclient import TestClient

    cfg: ServeStageConfig = ctx.config
    server = ServeConfig.model_validate(cfg.model_dump(exclude={"enabled", "smoke_prompt"}))
    model_dir = ctx.input_path("model")
    expected = None
    if "chat_template" in ctx.inputs:
        expected = hashlib.sha256(Path(ctx.input_path("chat_template")).read_bytes()).hexdigest()
    # The smoke request runs in process with auth and rate limits off (the real server has them), guard on.
    from steep.serve.auth import KeyStore

    smoke_cfg = server.model_copy(update={"api_key_env": None, "rate_limit": None, "audit_log": None})
    app, sha = build_app(model_dir, smoke_cfg, ctx.device, ctx.dtype, expected, keys=KeyStore([]))
    question = [{"role": "user", "content": cfg.smoke_prompt}]
    started = time.time()
    with TestClient(app) as client:
        response = client.post("/v1/chat/completions", json={"model": cfg.model_name, "messages": question, "max_tokens": 64, "temperature": 0})
    latency = time.time() - started
    if response.status_code != 200:
        raise RuntimeError(f"smoke request failed: HTTP {response.status_code}: {response.text[:300]}")
    reply = response.json()
    served = {
        "model_dir": str(Path(model_dir).resolve()),
        "chat_template_sha256": sha,
        "serve": server.model_dump(mode="json"),
        "device": ctx.device,
        "dtype": ctx.dtype,
    }
    atomic_write_json(ctx.work_dir / "serve.json", served)
    atomic_write_json(ctx.work_dir / "smoke.json", {"request": question, "response": reply, "latency_s": latency})
    ctx.add_output("serve", ctx.work_dir / "serve.json")
    return {
        "chat_template_sha256": sha,
        "smoke_latency_s": round(latency, 3),
        "smoke_finish_reason": reply["choices"][0]["finish_reason"],
        "smoke_completion_tokens": reply["usage"]["completion_tokens"],
    }


def served_model(target: Path) -> tuple[str, dict | None, str, str, str | None]:
    """(model_dir, the serve config recorded by the run or None, device, dtype, expected template sha) for a run
    directory whose serve stage completed, or for a plain Hugging Face model directory."""
    target = Path(target)
    recorded = target / "serve" / "serve.json"
    if recorded.exists():
        served = json.loads(recorded.read_text())
        return served["model_dir"], served["serve"], served["device"], served["dtype"], served["chat_template_sha256"]
    if (target / "config.json").exists():
        return str(target), None, "auto", "auto", None
    raise FileNotFoundError(f"{target} is neither a run directory with serve/serve.json (run the pipeline through its "
                            "serve stage) nor a model directory with config.json")  # fmt: skip


def serve_forever(model_dir: str, cfg: ServeConfig, device: str, dtype: str, expected_sha: str | None,
                  adapters: dict[str, str] | None = None) -> None:  # fmt: skip
    """Start the OpenAI-compatible server (blocking). Refuses a non-loopback address without API keys."""
    import uvicorn

    from steep.serve.auth import KeyStore, check_exposure

    keys = KeyStore.from_config(cfg)
    check_exposure(cfg.host, keys)
    app, _ = build_app(model_dir, cfg, device, dtype, expected_sha, adapters=adapters, keys=keys)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="info")


def serve_run_dir(run_dir: Path, host: str | None = None, port: int | None = None) -> None:
    """Start the server for a completed run (blocking); `steep serve` adds adapters and overrides."""
    model_dir, recorded, device, dtype, sha = served_model(run_dir)
    cfg = ServeConfig.model_validate(recorded or {})
    cfg = cfg.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v is not None})
    serve_forever(model_dir, cfg, device, dtype, sha)


STAGE = StageSpec(name="serve", config=ServeStageConfig, run=run, consumes=consumes, produces=("serve",))
