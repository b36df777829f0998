"""The `openai` judge against a scripted, faulty loopback server, and against steep's own server on a tiny model."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import TypeAdapter

from steep.judge import build_judge
from steep.judge.factory import JudgeConfig, needs_training_terms
from steep.judge.http_judge import JudgeRequestError, JudgeUnavailable, OpenAIJudge, OpenAIJudgeConfig
from steep.judge.rubric import parse_score, parse_winner

PROMPT = [{"role": "user", "content": "How long does a claim take?"}]


class Script:
    """Replies the server gives, in order (then `default`), and every request it saw."""

    def __init__(self, steps=(), default=None):
        self.steps = list(steps)
        self.default = default
        self.seen: list[dict] = []
        self.lock = threading.Lock()

    def next(self, body):
        with self.lock:
            self.seen.append(body)
            return self.steps.pop(0) if self.steps else self.default


def ok(content, p=10, c=2):
    return (200, {}, json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}],
                                 "usage": {"prompt_tokens": p, "completion_tokens": c}}))


@pytest.fixture
def server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            step = script.next(body)
            if callable(step):
                step = step(body)
            if step == "hang":
                time.sleep(0.5)
                step = ok("Score: 1/10")
            status, headers, text = step
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            data = text.encode()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield script, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def make(url, **kw):
    cfg = dict(base_url=url, model="judge-m", backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=0.2, max_retries=3,
               concurrency=1)
    cfg.update(kw)
    return OpenAIJudge(OpenAIJudgeConfig(**cfg))


def test_parsers():
    assert parse_score("Score: 7/10") == 0.7
    assert parse_score('{"score": 3}') == 0.3
    assert parse_score("8") == 0.8
    assert parse_score("Score: 4/5") == 0.8
    assert parse_score("I like it") is None
    assert parse_score("Score: 12/10") is None
    assert parse_winner("Winner: B") == "b"
    assert parse_winner('{"winner": "tie"}') == "tie"
    assert parse_winner("both fine") is None


def test_retries_429_500_timeout_then_answers(server):
    script, url = server
    script.steps = [(429, {"Retry-After": "0.01"}, "slow down"), (500, {}, "boom"), "hang", ok("Score: 7/10", 11, 3)]
    judge = make(url, max_retries=3, price={"prompt_per_1k": 1.0, "completion_per_1k": 2.0})
    v = judge.judge(PROMPT, "Ten days.")
    assert v.score == pytest.approx(0.7)
    assert judge.usage.retries == 3 and judge.usage.calls == 4 and judge.usage.malformed == 0
    assert (judge.usage.prompt_tokens, judge.usage.completion_tokens) == (11, 3)
    assert judge.usage.cost_usd == pytest.approx(11 / 1000 * 1.0 + 3 / 1000 * 2.0)
    assert script.seen[-1]["model"] == "judge-m" and script.seen[-1]["temperature"] == 0.0
    assert "Ten days." in script.seen[-1]["messages"][0]["content"]


def test_unavailable_after_retries(server):
    script, url = server
    script.default = (503, {}, "down")
    judge = make(url, max_retries=2)
    with pytest.raises(JudgeUnavailable, match=r"3 attempt.*HTTP 503"):
        judge.judge(PROMPT, "x")
    assert len(script.seen) == 3 and judge.usage.retries == 2


def test_unreachable_endpoint_is_unavailable():
    judge = make("http://127.0.0.1:9/v1", max_retries=1)
    with pytest.raises(JudgeUnavailable, match="connection error"):
        judge.judge(PROMPT, "x")


def test_401_fails_fast(server):
    script, url = server
    script.default = (401, {}, '{"error": "invalid api key"}')
    with pytest.raises(JudgeRequestError, match="invalid api key"):
        make(url).judge(PROMPT, "x")
    assert len(script.seen) == 1


def test_garbage_and_unparseable_are_malformed_not_fatal(server):
    script, url = server
    script.steps = [(200, {}, "<html>not json</html>"), ok("I think it is nice"), ok("Score: 9/10")]
    judge = make(url)
    verdicts = judge.judge_batch([PROMPT] * 3, ["a", "b", "c"])
    assert [v.score for v in verdicts] == [0.5, 0.5, pytest.approx(0.9)]
    assert judge.usage.malformed == 2


def test_pairwise_asks_both_orders_and_disagreement_ties(server):
    script, url = server

    def reply(body):  # always prefers whichever answer is shown first: pure position bias
        return ok("Winner: A")

    script.default = reply
    judge = make(url, concurrency=4)
    [c] = judge.compare_batch([(PROMPT, "FIRST-ANSWER", "SECOND-ANSWER")])
    assert c.winner == "tie" and c.agreed is False and c.confidence == 0.0
    shown_first = sorted(b["messages"][0]["content"].index("FIRST") < b["messages"][0]["content"].index("SECOND")
                         for b in script.seen)
    assert shown_first == [False, True]


def test_pairwise_agreement_wins(server):
    script, url = server

    def reply(body):  # prefers the answer containing GOOD, wherever it is
        text = body["messages"][0]["content"]
        return ok("Winner: A" if text.index("GOOD") < text.index("BAD") else "Winner: B")

    script.default = reply
    judge = make(url)
    c = judge.compare(PROMPT, "BAD one", "GOOD one")
    assert c.winner == "b" and c.agreed is True and c.confidence == 1.0


def test_cache_rerun_pays_nothing_and_corrupt_lines_skip(server, tmp_path):
    script, url = server
    script.default = ok("Score: 6/10")
    first = make(url, cache_dir=tmp_path / "cache", concurrency=4)
    answers = [f"answer {i}" for i in range(6)]
    v1 = first.judge_batch([PROMPT] * 6, answers)
    assert first.usage.calls == 6
    with (tmp_path / "cache" / "verdicts.jsonl").open("a") as f:
        f.write("{not json\n")
    second = make(url, cache_dir=tmp_path / "cache")
    v2 = second.judge_batch([PROMPT] * 6, answers)
    assert v1 == v2 and second.usage.calls == 0 and second.usage.cache_hits == 6 and len(script.seen) == 6
    assert second.cache.corrupt == 1
    other_rubric = make(url, cache_dir=tmp_path / "cache", criteria="Be terse.")
    assert other_rubric.identity != second.identity
    other_rubric.judge(PROMPT, "answer 0")
    assert other_rubric.usage.calls == 1


def test_config_union_and_factory(server):
    _, url = server
    ta = TypeAdapter(JudgeConfig)
    rules = ta.validate_python({"rules": [{"kind": "max_words", "name": "short", "max": 3}]})
    assert rules.kind == "rules" and not needs_training_terms(rules)
    cfg = ta.validate_python({"kind": "openai", "base_url": url, "model": "m"})
    judge = build_judge(cfg)
    assert isinstance(judge, OpenAIJudge) and needs_training_terms(cfg)
    assert judge.identity.startswith(f"openai:m@{url}:rubric=")


def test_api_key_env_must_be_set(monkeypatch, server):
    _, url = server
    monkeypatch.delenv("STEEP_TEST_JUDGE_KEY", raising=False)
    with pytest.raises(ValueError, match="STEEP_TEST_JUDGE_KEY"):
        make(url, api_key_env="STEEP_TEST_JUDGE_KEY")


def test_openai_config_errors_print_plain_yaml_paths():
    from steep.pipeline.config import format_location

    assert format_location(("dpo", "judge", "openai", "model")) == "dpo.judge.model"
    assert format_location(("dpo", "judge", "rules", "rules", 0, "max_words", "max")) == "dpo.judge.rules[0].max"


def test_happy_path_against_steeps_own_server_on_a_tiny_model(tiny_model_dir):
    """A real OpenAI-compatible server (steep serve, uvicorn on loopback) hosting the random tiny model: its
    replies are gibberish, so each is read or counted malformed; nothing crashes and real tokens are counted."""
    import uvicorn

    from steep.model.load import load_model, load_tokenizer
    from steep.serve.app import create_app
    from steep.serve.config import ServeConfig
    from steep.serve.hf_engine import HFChatEngine

    tokenizer = load_tokenizer(str(tiny_model_dir))
    model = load_model(str(tiny_model_dir), "cpu")
    app = create_app(HFChatEngine(model, tokenizer, "cpu", "tiny"), ServeConfig(model_name="tiny", max_tokens_limit=16))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        # short templates: the tiny model's context is 128 positions
        judge = make(f"http://127.0.0.1:{port}/v1", model="tiny", max_tokens=6, timeout_s=30,
                     rubric={"pointwise": "Rate: {answer}", "pairwise": "A: {answer_a} B: {answer_b}"}, criteria="")
        verdicts = judge.judge_batch([PROMPT] * 2, ["Ten days.", "Policy 3 covers water damage."])
        [comparison] = judge.compare_batch([(PROMPT, "Ten days.", "Five days.")])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert len(verdicts) == 2 and all(0.0 <= v.score <= 1.0 for v in verdicts)
    assert comparison.winner in ("a", "b", "tie")
    assert judge.usage.calls == 4 and judge.usage.retries == 0
    assert judge.usage.prompt_tokens > 0 and 0 < judge.usage.completion_tokens <= 4 * 6
    unread = sum(v.rationale.startswith("malformed judge reply") for v in verdicts) + comparison.rationale.count("malformed")
    assert judge.usage.malformed == unread


def test_rubric_from_a_file_changes_identity_and_prompt(server, tmp_path):
    script, url = server
    script.default = ok("Score: 10/10")
    path = tmp_path / "rubric.yaml"
    path.write_text("pointwise: 'HOUSE RUBRIC {criteria} :: {answer}'\n")
    judge = make(url, rubric=str(path), criteria="cite a policy")
    assert judge.identity != make(url).identity
    assert judge.judge(PROMPT, "See POL-1").score == 1.0
    assert script.seen[-1]["messages"][0]["content"] == "HOUSE RUBRIC cite a policy :: See POL-1"
    with pytest.raises(ValueError, match="cannot read"):
        make(url, rubric=str(tmp_path / "missing.yaml"))


def test_unknown_placeholder_fails_before_any_request(server):
    script, url = server
    with pytest.raises(ValueError, match=r"rubric.pointwise\n  Value error, bad placeholder .answr."):  # caught when the config is validated
        make(url, rubric={"pointwise": "Rate {answr}"})
    assert script.seen == []


def test_a_judge_that_dies_mid_batch_keeps_what_it_was_told(server, tmp_path):
    script, url = server
    script.steps = [ok("Score: 2/10"), ok("Score: 4/10")]
    script.default = (503, {}, "down")
    with pytest.raises(JudgeUnavailable):
        make(url, cache_dir=tmp_path, max_retries=1).judge_batch([PROMPT] * 3, ["a", "b", "c"])
    script.default = ok("Score: 8/10")
    again = make(url, cache_dir=tmp_path)
    assert [v.score for v in again.judge_batch([PROMPT] * 3, ["a", "b", "c"])] == pytest.approx([0.2, 0.4, 0.8])
    assert again.usage.cache_hits == 2 and again.usage.calls == 1


def test_a_training_stage_refuses_a_model_judge_without_terms():
    from pydantic import TypeAdapter

    from steep.judge import JudgeConfig
    from steep.judge.factory import build_training_judge
    from steep.judge.terms import TermsRefused

    ta = TypeAdapter(JudgeConfig)
    bare = ta.validate_python({"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"})
    with pytest.raises(TermsRefused, match=r"dpo\.judge.*openai:m@"):
        build_training_judge(bare, where="dpo.judge")
    declared = ta.validate_python(
        {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "terms": {"allows_training_on_outputs": True, "source": "own model"}}
    )
    assert build_training_judge(declared, where="dpo.judge").identity.startswith("openai:m@")
    rules = ta.validate_python({"rules": [{"kind": "max_words", "name": "w", "max": 5}]})
    assert build_training_judge(rules, where="dpo.judge").identity.startswith("rules:")  # rules need no terms
