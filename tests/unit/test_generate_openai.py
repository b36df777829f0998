"""The OpenAI-compatible engine against a scripted server (httpx MockTransport): k samples are one `n=k` request,
replies come back grouped in input order, 5xx is retried, a bad request fails at once, and a round's adapter is
loaded through vLLM's dynamic LoRA endpoint and then sampled by name."""

from __future__ import annotations

import json

import httpx
import pytest

from steep.generate import build_engine
from steep.generate.config import GenerationConfig, OpenAIEngineConfig
from steep.generate.openai_engine import OpenAIChatGenerator
from steep.http_retry import EndpointRefused, EndpointUnavailable

CHATS = [[{"role": "user", "content": f"question {i}"}] for i in range(5)]
CONFIG = OpenAIEngineConfig(base_url="http://vllm.test/v1", model="sft-model", backoff_base_s=0.0, backoff_max_s=0.0, max_retries=2, concurrency=3)


def _completion(body: dict) -> httpx.Response:
    asked = body["messages"][-1]["content"]
    choices = [{"index": i, "message": {"role": "assistant", "content": f"{body['model']} on {asked} #{i}"}, "finish_reason": "stop"} for i in range(body["n"])]
    return httpx.Response(200, json={"choices": choices[::-1], "usage": {"prompt_tokens": 7, "completion_tokens": 4 * body["n"]}})


def test_k_samples_are_one_request_each_and_come_back_in_order():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        return _completion(body)

    engine = OpenAIChatGenerator(CONFIG, transport=httpx.MockTransport(handler))
    groups = engine.sample(CHATS, 3, GenerationConfig(max_new_tokens=32, temperature=0.7, top_p=0.9), seed=10)
    assert len(seen) == 5 and all(b["n"] == 3 and b["max_tokens"] == 32 and b["temperature"] == 0.7 for b in seen)
    assert sorted(b["seed"] for b in seen) == [10, 11, 12, 13, 14]
    assert [[r.text for r in g] for g in groups] == [[f"sft-model on question {i} #{j}" for j in range(3)] for i in range(5)]
    assert groups[0][0].prompt_tokens == 7 and groups[0][0].completion_tokens == 4
    assert [r.text for r in engine.generate_chat(CHATS[:2], GenerationConfig())] == ["sft-model on question 0 #0", "sft-model on question 1 #0"]


def test_server_errors_are_retried_and_a_bad_request_is_not():
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(503, text="busy") if calls["n"] <= 2 else _completion(json.loads(request.content))

    engine = OpenAIChatGenerator(CONFIG, transport=httpx.MockTransport(flaky))
    assert engine.sample(CHATS[:1], 2, GenerationConfig())[0][1].text == "sft-model on question 0 #1"
    assert calls["n"] == 3
    down = OpenAIChatGenerator(CONFIG, transport=httpx.MockTransport(lambda r: httpx.Response(500, text="boom")))
    with pytest.raises(EndpointUnavailable, match="3 attempt"):
        down.sample(CHATS[:1], 2, GenerationConfig())
    refused = OpenAIChatGenerator(CONFIG, transport=httpx.MockTransport(lambda r: httpx.Response(404, text="no such model")))
    with pytest.raises(EndpointRefused, match="no such model"):
        refused.sample(CHATS[:1], 2, GenerationConfig())


def test_a_server_that_ignores_n_is_an_error_not_fewer_samples():
    def one_choice(request: httpx.Request) -> httpx.Response:
        return _completion({**json.loads(request.content), "n": 1})

    engine = OpenAIChatGenerator(CONFIG, transport=httpx.MockTransport(one_choice))
    with pytest.raises(RuntimeError, match="n=4"):
        engine.sample(CHATS[:1], 4, GenerationConfig())


def test_a_rounds_adapter_is_loaded_once_and_sampled_by_name(tmp_path):
    loaded = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/load_lora_adapter"):
            loaded.append(body)
            if len(loaded) > 1:
                return httpx.Response(400, text="The lora adapter 'round0' has already been loaded.")
            return httpx.Response(200, text="Success")
        return _completion(body)

    engine = OpenAIChatGenerator(CONFIG, transport=httpx.MockTransport(handler))
    engine.use_adapter("round0", tmp_path / "policy")
    engine.use_adapter("round0", tmp_path / "policy")  # a rerun: already loaded is fine
    assert loaded[0] == {"lora_name": "round0", "lora_path": str((tmp_path / "policy").resolve())}
    assert engine.sample(CHATS[:1], 1, GenerationConfig())[0][0].text.startswith("round0 on question 0")


def test_build_engine_and_the_key_from_the_environment(monkeypatch):
    monkeypatch.delenv("STEEP_TEST_ENGINE_KEY", raising=False)
    with pytest.raises(ValueError, match="STEEP_TEST_ENGINE_KEY"):
        build_engine(CONFIG.model_copy(update={"api_key_env": "STEEP_TEST_ENGINE_KEY"}))
    monkeypatch.setenv("STEEP_TEST_ENGINE_KEY", "sk-test")
    engine = build_engine(CONFIG.model_copy(update={"api_key_env": "STEEP_TEST_ENGINE_KEY"}))
    assert isinstance(engine, OpenAIChatGenerator) and engine._client.headers["Authorization"] == "Bearer sk-test"
