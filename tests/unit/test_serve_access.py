"""Access control: hashed named keys (and STEEP_API_KEY), 401, per-key rate limits (429 + Retry-After), the body
limit (413), max_tokens (400), CORS off unless configured, and /metrics.

    PYTHONPATH=src python -m pytest tests/unit/test_serve_access.py -q
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from steep.serve import ServeConfig, create_app
from steep.serve.auth import KeyStore, key_digest
from steep.serve.config import RateLimitConfig
from steep.serve.rate_limit import RateLimiter
from tests.unit.serve_fakes import ScriptedEngine

ALICE, BOB = "sk-alice-0123456789", "sk-bob-9876543210"


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch):
    monkeypatch.delenv("STEEP_API_KEY", raising=False)


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_client(clock: Clock | None = None, **config) -> TestClient:
    config.setdefault("api_keys", [
        {"name": "alice", "sha256": key_digest(ALICE), "rate_limit": {"requests_per_minute": 60, "burst": 3}},
        {"name": "bob", "sha256": key_digest(BOB)},
    ])  # fmt: skip
    cfg = ServeConfig(**config)
    limiter = RateLimiter(cfg.rate_limit, clock or Clock())
    return TestClient(create_app(ScriptedEngine(), cfg, limiter=limiter))


def ask(client: TestClient, key: str | None, **body):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    payload = {"model": "steep", "messages": [{"role": "user", "content": "hi"}]} | body
    return client.post("/v1/chat/completions", json=payload, headers=headers)


def test_missing_or_wrong_key_is_401_and_named_keys_work():
    client = make_client()
    for key in (None, "sk-wrong", ALICE + "x"):
        response = ask(client, key)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/models").status_code == 401
    assert client.post("/v1/chat/completions", headers={"Authorization": "Basic abc"}, json={}).status_code == 401
    assert ask(client, ALICE).status_code == 200
    assert ask(client, BOB).status_code == 200
    assert client.get("/health").status_code == 200  # open, for load balancers
    metrics = client.get("/metrics").text
    assert 'steep_requests_total{endpoint="/v1/chat/completions",status="401"} 4' in metrics
    assert ALICE not in metrics and BOB not in metrics


def test_steep_api_key_env_holds_comma_separated_keys(monkeypatch):
    monkeypatch.setenv("STEEP_API_KEY", "k-one, k-two")
    client = TestClient(create_app(ScriptedEngine(), ServeConfig()))
    assert ask(client, "k-one").status_code == 200
    assert ask(client, "k-two").status_code == 200
    assert ask(client, "k-three").status_code == 401
    assert [k.name for k in KeyStore.from_config(ServeConfig()).keys] == ["env-0", "env-1"]
    assert not KeyStore.from_config(ServeConfig(env_keys=False)).enabled


def test_legacy_api_key_env_must_be_set(monkeypatch):
    monkeypatch.delenv("STEEP_LEGACY_KEY", raising=False)
    with pytest.raises(RuntimeError, match="STEEP_LEGACY_KEY"):
        create_app(ScriptedEngine(), ServeConfig(api_key_env="STEEP_LEGACY_KEY"))


def test_keys_are_stored_hashed():
    with pytest.raises(ValidationError, match="sha256"):
        ServeConfig(api_keys=[{"name": "alice", "sha256": ALICE}])
    with pytest.raises(ValidationError, match="unique"):
        ServeConfig(api_keys=[{"name": "a", "sha256": key_digest("x")}, {"name": "a", "sha256": key_digest("y")}])


def test_burst_over_a_keys_rate_limit_is_429_with_retry_after():
    clock = Clock()
    client = make_client(clock, rate_limit={"requests_per_minute": 600, "burst": 10})
    assert [ask(client, ALICE).status_code for _ in range(4)] == [200, 200, 200, 429]  # alice: burst 3
    limited = ask(client, ALICE)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert limited.headers["retry-after"] == "1"  # 60/min: a token a second
    assert ask(client, BOB).status_code == 200  # buckets are per key; bob has the default (burst 10)
    clock.now += 1.0
    assert ask(client, ALICE).status_code == 200
    assert ask(client, ALICE).status_code == 429
    assert 'steep_rate_limited_total{key="alice"} 3' in client.get("/metrics").text


def test_rate_limiter_retry_after_arithmetic():
    clock = Clock()
    limiter = RateLimiter(RateLimitConfig(requests_per_minute=6, burst=2), clock)  # a token every 10 s
    assert [limiter.acquire("k") for _ in range(3)] == [None, None, 10]
    clock.now += 4.5
    assert limiter.acquire("k") == 6  # 0.45 of a token refilled: 5.5 s left, rounded up
    assert RateLimiter(None).acquire("k") is None


def test_oversized_body_is_413_and_max_tokens_stays_400():
    client = make_client(max_body_bytes=2048, max_tokens_limit=64)
    big = ask(client, ALICE, messages=[{"role": "user", "content": "x" * 5000}])
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "request_too_large"

    def chunked():  # no Content-Length: the limit holds while reading
        yield b'{"model": "steep", "messages": [{"role": "user", "content": "'
        for _ in range(50):
            yield b"y" * 100
        yield b'"}]}'

    streamed = client.post("/v1/chat/completions", content=chunked(), headers={"Authorization": f"Bearer {BOB}"})
    assert streamed.status_code == 413
    too_many = ask(client, BOB, max_tokens=65)
    assert too_many.status_code == 400 and "serve.max_tokens_limit" in too_many.json()["error"]["message"]


def test_no_cors_unless_configured():
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    closed = make_client()
    assert "access-control-allow-origin" not in closed.options("/v1/chat/completions", headers=preflight).headers
    opened = make_client(cors_origins=["https://intranet.example"])
    allowed = opened.options("/v1/chat/completions", headers=preflight | {"Origin": "https://intranet.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://intranet.example"
    assert "access-control-allow-origin" not in opened.options("/v1/chat/completions", headers=preflight).headers


def test_metrics_count_requests_and_tokens():
    client = make_client()
    assert ask(client, ALICE).status_code == 200
    text = client.get("/metrics").text
    assert "# TYPE steep_request_latency_seconds histogram" in text
    assert 'steep_tokens_total{kind="completion"} 6' in text  # "Claims settle in ten working days.": 6 words
