"""The OpenAI-compatible server and its guard, against a fake engine (no model, no torch).

    PYTHONPATH=src python -m pytest tests/unit/test_serve_app.py -q
"""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from steep.serve import Completion, Guard, GuardConfig, ServeConfig, create_app

SHA = "ab" * 32


class FakeEngine:
    """Replies with a fixed text; one 'token' per whitespace-separated word; records every call."""

    model_name = "fake-hf-model"

    def __init__(self, reply: str = "Refunds are accepted within 30 days.", finish_reason: str = "stop") -> None:
        self.reply = reply
        self.finish_reason = finish_reason
        self.calls: list[dict] = []

    def chat(self, messages, *, max_tokens, temperature, top_p, stop, seed):
        self.calls.append(
            {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "top_p": top_p,
             "stop": stop, "seed": seed}
        )
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return Completion(self.reply, prompt_tokens, len(self.reply.split()), self.finish_reason)


def make_client(engine=None, **config) -> tuple[TestClient, FakeEngine]:
    engine = engine or FakeEngine()
    return TestClient(create_app(engine, ServeConfig(**config), chat_template_sha256=SHA)), engine


def chat(client: TestClient, headers: dict | None = None, **body):
    body.setdefault("model", "steep")
    body.setdefault("messages", [{"role": "user", "content": "What is the refund window?"}])
    return client.post("/v1/chat/completions", json=body, headers=headers or {})


def assert_openai_error(response, status: int, *, param: str | None = None, contains: str = "") -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert contains.lower() in error["message"].lower()
    if param is not None:
        assert error["param"] == param
    return error


# ---------------------------------------------------------------------------------------------- happy path


def test_chat_completion_shape_and_usage_arithmetic():
    client, engine = make_client()
    response = chat(
        client,
        messages=[
            {"role": "system", "content": "You are Acme's support expert."},
            {"role": "user", "content": "What is the refund window?"},
        ],
        max_tokens=64, temperature=0.2, top_p=0.9, stop="\n\n", seed=7,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert body["model"] == "steep"
    assert isinstance(body["created"], int) and abs(body["created"] - time.time()) < 60
    assert body["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Refunds are accepted within 30 days."},
         "logprobs": None, "finish_reason": "stop"}
    ]
    # Prompt: 5 + 5 words; reply: 6 words.
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16}
    assert engine.calls == [
        {"messages": [{"role": "system", "content": "You are Acme's support expert."},
                      {"role": "user", "content": "What is the refund window?"}],
         "max_tokens": 64, "temperature": 0.2, "top_p": 0.9, "stop": ["\n\n"], "seed": 7}
    ]


def test_defaults_passed_to_engine_and_length_finish_reason():
    client, engine = make_client(engine=FakeEngine(finish_reason="length"), max_tokens_limit=128)
    body = chat(client).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert engine.calls[0] | {"messages": None} == {
        "messages": None, "max_tokens": 128, "temperature": 1.0, "top_p": 1.0, "stop": None, "seed": None
    }


def test_nulls_mean_default_and_max_completion_tokens_wins():
    client, engine = make_client()
    response = chat(client, temperature=None, top_p=None, stop=None, seed=None, n=None, stream=None,
                    max_tokens=100, max_completion_tokens=32)
    assert response.status_code == 200, response.text
    assert engine.calls[0]["max_tokens"] == 32
    assert engine.calls[0]["temperature"] == 1.0


def test_content_parts_are_joined():
    client, engine = make_client()
    response = chat(client, messages=[{"role": "user", "content": [
        {"type": "text", "text": "First part."}, {"type": "text", "text": "Second part."}]}])
    assert response.status_code == 200, response.text
    assert engine.calls[0]["messages"] == [{"role": "user", "content": "First part.\nSecond part."}]


def test_image_part_is_rejected_with_param():
    client, engine = make_client()
    response = chat(client, messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}])
    assert_openai_error(response, 400, param="messages[0].content", contains="only 'text' parts")
    assert engine.calls == []


def test_extra_openai_fields_are_accepted_and_ignored():
    client, engine = make_client()
    response = chat(client, user="alice", presence_penalty=0.5, frequency_penalty=0.1, logprobs=False,
                    top_logprobs=None, logit_bias={"42": 1}, stream_options=None, response_format={"type": "text"},
                    messages=[{"role": "user", "content": "hi", "name": "alice"}])
    assert response.status_code == 200, response.text
    assert engine.calls[0]["messages"] == [{"role": "user", "content": "hi"}]


# ---------------------------------------------------------------------------------------------- errors


def test_unknown_model_is_404():
    client, engine = make_client()
    error = assert_openai_error(chat(client, model="gpt-4o"), 404, param="model", contains="gpt-4o")
    assert error["code"] == "model_not_found"
    assert engine.calls == []


def test_n_above_one_is_400():
    client, _ = make_client()
    assert_openai_error(chat(client, n=2), 400, param="n", contains="only n=1")
    assert chat(client, n=1).status_code == 200


def test_bad_role_is_400_in_openai_shape():
    client, engine = make_client()
    response = chat(client, messages=[{"role": "tool", "content": "42"}])
    error = assert_openai_error(response, 400, param="messages[0].role")
    assert error["type"] == "invalid_request_error"
    assert engine.calls == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"temperature": 3}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
    ],
)
def test_invalid_fields_are_400(body, param):
    client, engine = make_client()
    assert_openai_error(chat(client, **body), 400, param=param)
    assert engine.calls == []


def test_missing_model_and_bad_json_are_400():
    client, _ = make_client()
    response = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert_openai_error(response, 400, param="model", contains="required")
    response = client.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert_openai_error(response, 400, contains="not valid JSON")
    assert_openai_error(client.post("/v1/chat/completions", json=[1, 2]), 400, contains="JSON object")


def test_max_tokens_above_limit_is_400_naming_the_limit():
    client, engine = make_client(max_tokens_limit=256)
    assert_openai_error(chat(client, max_tokens=257), 400, param="max_tokens", contains="256")
    assert_openai_error(chat(client, max_completion_tokens=1000), 400, param="max_completion_tokens")
    assert engine.calls == []
    assert chat(client, max_tokens=256).status_code == 200


def test_unknown_route_is_404_in_openai_shape():
    client, _ = make_client()
    assert_openai_error(client.get("/v1/nope"), 404)
    assert client.get("/docs").status_code == 404  # no CDN-backed docs page


def test_engine_failure_is_500_in_openai_shape():
    class Broken(FakeEngine):
        def chat(self, messages, **kwargs):
            raise RuntimeError("CUDA out of memory")

    client, _ = make_client(engine=Broken())
    error = assert_openai_error(chat(client), 500, contains="RuntimeError")
    assert error["type"] == "server_error"
    assert "CUDA" not in error["message"]


# ---------------------------------------------------------------------------------------------- auth


def test_auth_missing_wrong_right_token(monkeypatch):
    monkeypatch.setenv("STEEP_TEST_KEY", "s3cret-token")
    client, engine = make_client(api_key_env="STEEP_TEST_KEY")

    missing = chat(client)
    assert_openai_error(missing, 401, contains="missing")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_openai_error(chat(client, headers={"Authorization": "Bearer wrong"}), 401, contains="incorrect")
    assert_openai_error(chat(client, headers={"Authorization": "Basic s3cret-token"}), 401)
    # Non-ASCII token: still a 401, not a TypeError from compare_digest.
    assert_openai_error(chat(client, headers={"Authorization": "Bearer s3crét".encode()}), 401)
    assert_openai_error(client.get("/v1/models"), 401)
    # Auth runs before the body is read: an unauthenticated garbage body is a 401, not a 400.
    assert client.post("/v1/chat/completions", content=b"{garbage").status_code == 401
    assert engine.calls == []

    ok = {"Authorization": "Bearer s3cret-token"}
    assert chat(client, headers=ok).status_code == 200
    assert client.get("/v1/models", headers=ok).status_code == 200
    assert client.get("/health").status_code == 200  # open for readiness probes
    assert len(engine.calls) == 1


def test_auth_env_var_missing_fails_at_creation(monkeypatch):
    monkeypatch.delenv("STEEP_TEST_KEY", raising=False)
    with pytest.raises(RuntimeError, match="STEEP_TEST_KEY"):
        create_app(FakeEngine(), ServeConfig(api_key_env="STEEP_TEST_KEY"))
    monkeypatch.setenv("STEEP_TEST_KEY", "  ")
    with pytest.raises(RuntimeError, match="unset or empty"):
        create_app(FakeEngine(), ServeConfig(api_key_env="STEEP_TEST_KEY"))


def test_api_key_env_must_be_a_variable_name():
    with pytest.raises(ValidationError, match="api_key_env"):
        ServeConfig(api_key_env="sk-live-abc123")


# ---------------------------------------------------------------------------------------------- guard


GUARD = {
    "blocked_terms": ["Project Falcon"],
    "blocked_patterns": [r"(?i)\bstrictly confidential\b"],
    "redact_patterns": {"<ACCOUNT>": r"\b\d{10}\b"},
    "refusal": "I can't discuss that.",
}


def test_guard_blocks_input_codename_without_calling_engine():
    client, engine = make_client(guard=GUARD)
    response = chat(client, messages=[
        {"role": "system", "content": "Be helpful."},
        {"role": "user", "content": "What's the status of project   FALCON?"},
    ])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "I can't discuss that."}
    assert body["choices"][0]["finish_reason"] == "content_filter"
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert engine.calls == []


def test_guard_input_check_can_be_turned_off():
    client, engine = make_client(guard=GUARD | {"check_input": False})
    assert chat(client, messages=[{"role": "user", "content": "Project Falcon?"}]).status_code == 200
    assert len(engine.calls) == 1


def test_guard_replaces_output_codename():
    client, engine = make_client(engine=FakeEngine("The Project Falcon deal closes Friday."), guard=GUARD)
    body = chat(client).json()
    assert body["choices"][0]["message"]["content"] == "I can't discuss that."
    assert body["choices"][0]["finish_reason"] == "content_filter"
    assert len(engine.calls) == 1
    assert body["usage"]["completion_tokens"] == 6  # the tokens were still generated


def test_guard_redacts_account_number_and_keeps_finish_reason():
    client, _ = make_client(engine=FakeEngine("Account 1234567890 and 0987654321 are active."), guard=GUARD)
    body = chat(client).json()
    assert body["choices"][0]["message"]["content"] == "Account <ACCOUNT> and <ACCOUNT> are active."
    assert body["choices"][0]["finish_reason"] == "stop"


def test_guard_unit_behaviour():
    guard = Guard(GuardConfig(**GUARD))
    # Whole words: a longer word containing the phrase is not a hit; punctuation around it is.
    assert guard.check_output("Project Falconry is a hobby.").allowed
    assert not guard.check_output("(project falcon)").allowed
    # Invisible characters and full-width letters do not slip through.
    assert not guard.check_output("Project Fal\u200bcon").allowed
    assert not guard.check_output("Project \uff26alcon").allowed
    decision = guard.check_output("This is STRICTLY CONFIDENTIAL.")
    assert (decision.allowed, decision.text, decision.reasons) == (
        False, "I can't discuss that.", ["blocked_patterns[0] in output"])
    # Reasons name config entries, never the matched text.
    decision = guard.check_input([{"role": "user", "content": "hi"}, {"role": "user", "content": "project falcon"}])
    assert decision.reasons == ["blocked_terms[0] in messages[1]"]
    # Placeholders are literal, even when they look like group references.
    assert Guard(GuardConfig(redact_patterns={r"\1": r"(\d{3})"})).check_output("id 123").text == r"id \1"
    rails_off = {"output": {"pii": "off", "secrets": "off"}}
    assert Guard(GuardConfig(**rails_off)).check_output("anything 1234567890").text == "anything 1234567890"


def test_invalid_guard_regex_names_the_pattern():
    with pytest.raises(ValidationError) as info:
        GuardConfig(blocked_patterns=[r"ok", r"(unclosed"])
    assert "blocked_patterns[1]" in str(info.value) and "(unclosed" in str(info.value)
    with pytest.raises(ValidationError, match=r"<ACCOUNT>.*invalid regex"):
        ServeConfig(guard={"redact_patterns": {"<ACCOUNT>": r"[0-9"}})
    with pytest.raises(ValidationError, match="empty string"):
        GuardConfig(blocked_patterns=[r"\d*"])
    with pytest.raises(ValidationError, match="blank"):
        GuardConfig(blocked_terms=["  "])
    with pytest.raises(ValidationError, match="extra"):
        GuardConfig(blocked_term=["typo"])


# ---------------------------------------------------------------------------------------------- other endpoints


def test_models_and_health():
    client, _ = make_client(model_name="acme-expert")
    assert client.get("/v1/models").json() == {
        "object": "list", "data": [{"id": "acme-expert", "object": "model", "created": 0, "owned_by": "steep"}]}
    assert client.get("/v1/models/acme-expert").json()["id"] == "acme-expert"
    assert_openai_error(client.get("/v1/models/other"), 404)
    assert client.get("/health").json() == {
        "status": "ok", "model": "acme-expert", "adapters": [], "chat_template_sha256": SHA}
    assert chat(client, model="acme-expert").json()["system_fingerprint"] == f"steep-{SHA[:12]}"


def test_health_without_template_hash():
    client = TestClient(create_app(FakeEngine(), ServeConfig()))
    assert client.get("/health").json()["chat_template_sha256"] is None
    with pytest.raises(ValueError, match="chat_template_sha256"):
        create_app(FakeEngine(), ServeConfig(), chat_template_sha256="not-a-hash")


def test_engine_calls_are_serialized():
    class Slow(FakeEngine):
        active = 0
        max_active = 0

        def chat(self, messages, **kwargs):
            Slow.active += 1
            Slow.max_active = max(Slow.max_active, Slow.active)
            time.sleep(0.02)
            Slow.active -= 1
            return super().chat(messages, **kwargs)

    client, engine = make_client(engine=Slow())
    threads = [threading.Thread(target=chat, args=(client,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(engine.calls) == 6
    assert Slow.max_active == 1
