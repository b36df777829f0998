"""The `openai` judge: any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs).

    judge:
      kind: openai
      base_url: http://127.0.0.1:8000/v1
      model: Qwen2.5-72B-Instruct
      api_key_env: JUDGE_API_KEY          # the variable's *name*; the key never goes in YAML or a manifest
      criteria: "Cites a policy id; under 60 words; never repeats an account number."
      rubric: {pointwise: "...{conversation}...{answer}...", pairwise: "...{answer_a}...{answer_b}..."}
                                          # or a path to a YAML/JSON file with those keys; defaults ship
      max_tokens: 64
      timeout_s: 60
      max_retries: 5
      backoff_base_s: 0.5
      backoff_max_s: 30
      concurrency: 8
      price: {prompt_per_1k: 0.0, completion_per_1k: 0.0}   # USD, for usage.cost_usd
      cache_dir: null                     # a directory: replies cached there, a rerun pays nothing twice
      terms: {allows_training_on_outputs: true, source: "..."}

Pairwise questions are asked in both orders; if the two answers disagree the result is a tie with agreed=False
(position bias). 429, 5xx, timeouts and connection errors are retried with exponential backoff (Retry-After is
honoured); after `max_retries` the judge raises `JudgeUnavailable`. Other 4xx fail at once with the server's
message. A reply that cannot be read counts in `usage.malformed` and scores 0.5 / tie.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import Field, field_validator

from steep.chat import Message
from steep.http_retry import EndpointRefused, EndpointUnavailable, RetryPolicy, bearer_headers, post_with_retries
from steep.judge.base import Comparison, PointwiseJudge, Verdict
from steep.judge.rubric import (
    DEFAULT_CRITERIA,
    PAIRWISE_TEMPLATE,
    POINTWISE_TEMPLATE,
    parse_score,
    parse_winner,
    render_conversation,
)
from steep.judge.terms import JudgeTerms
from steep.judge.verdict_cache import VerdictCache, cache_key
from steep.schema import StrictModel


class JudgeUnavailable(EndpointUnavailable):
    """A judge endpoint could not be reached or kept failing after every retry."""


class JudgeRequestError(EndpointRefused):
    """A judge endpoint refused a request outright (4xx other than 429: bad key, wrong model, bad request)."""


PLACEHOLDERS = ("conversation", "answer", "answer_a", "answer_b", "criteria")


class Rubric(StrictModel):
    pointwise: str = POINTWISE_TEMPLATE
    pairwise: str = PAIRWISE_TEMPLATE

    @field_validator("pointwise", "pairwise")
    @classmethod
    def _known_placeholders(cls, template: str) -> str:
        """A typo'd `{answr}` fails when the YAML is validated, at `judge.rubric.pointwise`, not at the first request."""
        try:
            template.format(**{name: "" for name in PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"bad placeholder {exc} (allowed: {', '.join('{' + f + '}' for f in PLACEHOLDERS)})") from None
        return template


class Price(StrictModel):
    prompt_per_1k: float = Field(0.0, ge=0.0)
    completion_per_1k: float = Field(0.0, ge=0.0)


class OpenAIJudgeConfig(StrictModel):
    kind: Literal["openai"] = "openai"
    base_url: str = Field(min_length=1, description="e.g. http://127.0.0.1:8000/v1")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    rubric: Rubric = Field(default_factory=Rubric, description="inline {pointwise, pairwise} or a YAML/JSON file with them")
    criteria: str = DEFAULT_CRITERIA
    temperature: float = Field(0.0, ge=0.0)
    max_tokens: int = Field(64, ge=1)
    timeout_s: float = Field(60.0, gt=0.0)
    max_retries: int = Field(5, ge=0)
    backoff_base_s: float = Field(0.5, ge=0.0)
    backoff_max_s: float = Field(30.0, ge=0.0)
    concurrency: int = Field(8, ge=1)
    price: Price = Field(default_factory=Price)
    cache_dir: Path | None = None
    terms: JudgeTerms | None = None

    @field_validator("rubric", mode="before")
    @classmethod
    def _read_rubric_file(cls, value: Any) -> Any:
        """A path is read here, so a bad template in the file is reported at `judge.rubric.pointwise` like an
        inline one, and the config (and the judge's identity) holds what was read."""
        if not isinstance(value, (str, Path)):
            return value
        try:
            return yaml.safe_load(Path(value).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ValueError(f"cannot read the rubric file {value}: {exc}") from None

    def load_rubric(self) -> Rubric:
        return self.rubric


def check_templates(rubric: Rubric) -> None:
    """Fail before any request when a template names a placeholder that does not exist (a typo'd `{answr}`)."""
    fields = {"conversation": "", "answer": "", "answer_a": "", "answer_b": "", "criteria": ""}
    for name in ("pointwise", "pairwise"):
        try:
            getattr(rubric, name).format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"judge.rubric.{name}: bad placeholder {exc} (allowed: {', '.join('{' + f + '}' for f in fields)})"
            ) from None


class OpenAIJudge(PointwiseJudge):
    """The `Judge` behind an OpenAI-compatible `/chat/completions` endpoint. Thread-safe."""

    needs_training_terms = True

    def __init__(self, config: OpenAIJudgeConfig) -> None:
        super().__init__()
        self.config = config
        self.rubric = config.load_rubric()
        check_templates(self.rubric)
        digest = hashlib.sha256(
            json.dumps([self.rubric.pointwise, self.rubric.pairwise, config.criteria]).encode("utf-8")
        ).hexdigest()[:12]
        self.base_url = config.base_url.rstrip("/")
        self.identity = f"openai:{config.model}@{self.base_url}:rubric={digest}"
        self.cache = VerdictCache(config.cache_dir) if config.cache_dir is not None else None
        self._client = httpx.Client(headers=bearer_headers(config.api_key_env, "judge.api_key_env"), timeout=config.timeout_s)
        self._retry = RetryPolicy(config.max_retries, config.backoff_base_s, config.backoff_max_s)
        self._lock = threading.Lock()

    # -- one request -------------------------------------------------------------------------------------
    def _count(self, **delta: float) -> None:
        with self._lock:
            for name, value in delta.items():
                setattr(self.usage, name, getattr(self.usage, name) + value)

    def _post(self, content: str) -> str:
        url = f"{self.base_url}/chat/completions"
        body = {
            "model": self.config.model,
            "messages": [{"role": "user", "content": content}],
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }
        try:
            response = post_with_retries(self._client, url, body, self._retry, what="judge", on_attempt=self._count_attempt)
        except EndpointRefused as error:
            raise JudgeRequestError(f"{error} (model {self.config.model!r})") from None
        except EndpointUnavailable as error:
            raise JudgeUnavailable(str(error)) from None
        return self._reply_text(response)

    def _count_attempt(self, attempt: int) -> None:
        self._count(calls=1, retries=1 if attempt else 0)

    def _reply_text(self, response: httpx.Response) -> str:
        """The reply's text, and its token usage counted; '' for a body that is not a chat completion."""
        try:
            data = response.json()
            text = data["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            return ""
        tokens = data.get("usage") or {}
        p, c = int(tokens.get("prompt_tokens") or 0), int(tokens.get("completion_tokens") or 0)
        cost = p / 1000 * self.config.price.prompt_per_1k + c / 1000 * self.config.price.completion_per_1k
        self._count(prompt_tokens=p, completion_tokens=c, cost_usd=cost)
        return str(text)

    def _ask(self, kind: str, content: str) -> str:
        """The reply to `content`, from the cache when this judge was asked the same thing before."""
        key = cache_key(self.identity, kind, content)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self._count(cache_hits=1)
                return str(hit["reply"])
        reply = self._post(content)
        if self.cache is not None:
            self.cache.put(key, {"reply": reply})
        return reply

    def _map(self, fn, items: Sequence[Any]) -> list[Any]:
        if len(items) <= 1 or self.config.concurrency == 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=min(self.config.concurrency, len(items))) as pool:
            return list(pool.map(fn, items))

    # -- the Judge protocol ------------------------------------------------------------------------------
    def _pointwise(self, item: tuple[list[Message], str]) -> Verdict:
        prompt, answer = item
        content = self.rubric.pointwise.format(
            conversation=render_conversation(prompt), answer=answer, criteria=self.config.criteria
        )
        reply = self._ask("pointwise", content)
        score = parse_score(reply)
        if score is None:
            self._count(malformed=1)
            return Verdict(0.5, rationale=f"malformed judge reply: {reply[:120]!r}")
        return Verdict(score, rationale=reply.strip()[:500])

    def judge(self, prompt: list[Message], answer: str) -> Verdict:
        return self._pointwise((list(prompt), answer))

    def judge_batch(self, prompts: Sequence[list[Message]], answers: Sequence[str]) -> list[Verdict]:
        if len(prompts) != len(answers):
            raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers")
        return self._map(self._pointwise, [(list(p), a) for p, a in zip(prompts, answers)])

    def _one_order(self, item: tuple[list[Message], str, str]) -> str:
        prompt, a, b = item
        content = self.rubric.pairwise.format(
            conversation=render_conversation(prompt), answer_a=a, answer_b=b, criteria=self.config.criteria
        )
        winner = parse_winner(self._ask("pairwise", content))
        if winner is None:
            self._count(malformed=1)
            return "malformed"
        return winner

    def compare_batch(self, triples: Sequence[tuple[list[Message], str, str]]) -> list[Comparison]:
        asks = [x for p, a, b in triples for x in ((list(p), a, b), (list(p), b, a))]
        winners = self._map(self._one_order, asks)
        out = []
        for i in range(len(triples)):
            first, swapped = winners[2 * i], winners[2 * i + 1]
            second = {"a": "b", "b": "a"}.get(swapped, swapped)  # back to the caller's (a, b) order
            why = f"order (a,b): {first}; order (b,a): {swapped}"
            if "malformed" in (first, second):
                out.append(Comparison("tie", 0.0, why, agreed=None))
            elif first == second:
                out.append(Comparison(first, 0.0 if first == "tie" else 1.0, why, agreed=True))
            else:
                out.append(Comparison("tie", 0.0, why, agreed=False))
        return out

    def close(self) -> None:
        self._client.close()
