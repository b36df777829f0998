"""The official `openai` client against the server (uvicorn on a free loopback port), and the batching queue.

    PYTHONPATH=src python -m pytest tests/unit/test_serve_openai.py -q
"""

from __future__ import annotations

import threading
import time

import openai
import pytest
from fastapi.testclient import TestClient

from steep.serve import ServeConfig, create_app
from steep.serve.server import ServerThread
from tests.unit.serve_fakes import ScriptedEngine

KEY = "sk-test-openai-client"


@pytest.fixture()
def served(monkeypatch):
    monkeypatch.setenv("STEEP_API_KEY", KEY)
    engine = ScriptedEngine("Claims settle in ten working days.", chunk_size=5,
                            adapters={"support": "Support adapter speaking.", "legal": "Legal adapter speaking."})
    app = create_app(engine, ServeConfig(model_name="kestrel"))
    with ServerThread(app) as base_url:
        yield openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0), engine


def test_chat_streaming_chat_completions_and_models(served):
    client, engine = served
    reply = client.chat.completions.create(model="kestrel", messages=[{"role": "user", "content": "How long?"}],
                                           max_tokens=32, temperature=0)
    assert reply.choices[0].message.content == "Claims settle in ten working days."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 6

    chunks = list(client.chat.completions.create(model="kestrel", messages=[{"role": "user", "content": "How long?"}],
                                                 stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Claims settle in ten working days."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == 6

    completion = client.completions.create(model="kestrel", prompt="Claims settle in", max_tokens=16)
    assert completion.choices[0].text == "Claims settle in ten working days."
    streamed = "".join(c.choices[0].text for c in client.completions.create(model="kestrel", prompt="Claims", stream=True))
    assert streamed == "Claims settle in ten working days."
    assert isinstance(engine.batches[-1]["prompts"][0], str)  # a raw prompt, not a chat

    models = {m.id: m for m in client.models.list()}
    assert set(models) == {"kestrel", "support", "legal"}
    assert client.models.retrieve("support").id == "support"


def test_adapter_chosen_by_model_name(served):
    client, engine = served
    for name, expected in (("support", "Support adapter speaking."), ("legal", "Legal adapter speaking."),
                           ("kestrel", "Claims settle in ten working days.")):
        reply = client.chat.completions.create(model=name, messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == expected
    streamed = client.chat.completions.create(model="legal", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "Legal adapter speaking."
    assert [b["adapter"] for b in engine.batches] == ["support", "legal", None, "legal"]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])


def test_wrong_key_is_an_authentication_error(served):
    client, _ = served
    with pytest.raises(openai.AuthenticationError):
        client.with_options(api_key="sk-wrong").models.list()


# ---------------------------------------------------------------------------------------------- batching


class GatedEngine(ScriptedEngine):
    """Holds its first batch until released, so later requests pile up in the queue (no timing involved)."""

    def __init__(self) -> None:
        super().__init__(adapters={"support": "Support."})
        self.entered = threading.Event()
        self.release = threading.Event()

    def generate(self, prompts, sampling, adapter):
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(10)
        return super().generate(prompts, sampling, adapter)


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


@pytest.mark.parametrize("max_batch_size, expected", [(8, [1, 4, 2, 1]), (1, [1, 1, 1, 1, 1, 1, 1, 1])])
def test_waiting_requests_with_equal_settings_are_batched(monkeypatch, max_batch_size, expected):
    monkeypatch.delenv("STEEP_API_KEY", raising=False)
    engine = GatedEngine()
    config = ServeConfig(batching={"max_batch_size": max_batch_size, "max_wait_ms": 0}, rate_limit=None)
    client = TestClient(create_app(engine, config))

    def ask(model: str = "steep", **extra) -> None:
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "temperature": 0} | extra
        assert client.post("/v1/chat/completions", json=body).status_code == 200

    first = threading.Thread(target=ask)
    first.start()
    assert engine.entered.wait(10)
    # While the engine is busy: 4 alike, 2 for an adapter, 1 seeded (never batched: a seed means "as if alone").
    later = [threading.Thread(target=ask) for _ in range(4)]
    later += [threading.Thread(target=ask, args=("support",)) for _ in range(2)]
    later += [threading.Thread(target=ask, kwargs={"seed": 7})]
    for thread in later:
        thread.start()
    batcher = client.app.state.batcher
    _wait_for(lambda: batcher._queue.qsize() == len(later))
    engine.release.set()
    for thread in [first, *later]:
        thread.join()
    assert sorted(len(b["prompts"]) for b in engine.batches) == sorted(expected)
    for batch in engine.batches:  # a batch never mixes adapters or sampling settings
        assert len({(p and batch["adapter"]) for p in batch["prompts"]}) == 1
    assert {b["adapter"] for b in engine.batches if len(b["prompts"]) == 2 and max_batch_size > 1} <= {"support"}
    assert "steep_batch_size_count" in client.get("/metrics").text
