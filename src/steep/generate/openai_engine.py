"""Sampling from an OpenAI-compatible server: the engine dpo and rs use to sample on vLLM, SGLang or any server
that speaks `/chat/completions`, with the same two methods as the in-process engine.

    engine = OpenAIChatGenerator(OpenAIEngineConfig(base_url="http://127.0.0.1:8000/v1", model="my-sft-model"))
    groups = engine.sample(conversations, k=4, generation=GenerationConfig(temperature=0.7), seed=0)
    engine.use_adapter("dpo-round0", "/abs/path/checkpoints/round0/policy")   # vLLM dynamic LoRA, then sample again

A prompt's k samples are one request with `n=k` (the server shares the prefill); requests run `concurrency` at a
time; retries follow `steep.http_retry`. Each request carries `seed + prompt index`, so a server that honours
seeds (vLLM does) samples the same answers again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from steep.generate.config import GenerationConfig, OpenAIEngineConfig
from steep.generate.reply import GeneratedText
from steep.http_retry import EndpointRefused, RetryPolicy, bearer_headers, post_with_retries


class OpenAIChatGenerator:
    def __init__(self, config: OpenAIEngineConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.served_model = config.model
        headers = bearer_headers(config.api_key_env, "engine.api_key_env")
        self._client = httpx.Client(headers=headers, timeout=config.timeout_s, transport=transport)
        self._policy = RetryPolicy(config.max_retries, config.backoff_base_s, config.backoff_max_s)

    def use_adapter(self, name: str, path: Path | str) -> None:
        """Load a LoRA adapter into the server under `name` (vLLM's dynamic LoRA) and sample from it from now on."""
        body = {"lora_name": name, "lora_path": str(Path(path).resolve())}
        try:
            post_with_retries(self._client, f"{self.base_url}/load_lora_adapter", body, self._policy, what="engine")
        except EndpointRefused as error:
            if "already" not in str(error).lower():  # vLLM answers 400 "... has already been loaded" on a rerun
                raise
        self.served_model = name

    def _request(self, item: tuple[int, list[dict], int, GenerationConfig, int | None]) -> list[GeneratedText]:
        index, messages, k, generation, seed = item
        body = {
            "model": self.served_model, "messages": messages, "n": k, "max_tokens": generation.max_new_tokens,
            "temperature": generation.temperature, "top_p": generation.top_p,
        }  # fmt: skip
        if seed is not None:
            body["seed"] = seed + index
        response = post_with_retries(self._client, f"{self.base_url}/chat/completions", body, self._policy, what="engine")
        try:
            data = response.json()
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            usage = data.get("usage") or {}
            replies = [
                GeneratedText(
                    text=(choice["message"].get("content") or "").strip(),
                    prompt_tokens=int(usage.get("prompt_tokens") or 0),
                    completion_tokens=int(usage.get("completion_tokens") or 0) // max(1, len(choices)),  # shared out evenly
                    finish_reason=choice.get("finish_reason") or "stop",
                )
                for choice in choices
            ]
        except (ValueError, KeyError, TypeError) as error:
            raise RuntimeError(f"engine {self.base_url}: a reply that is not a chat completion ({error}): {response.text[:300]}") from None
        if len(replies) != k:
            raise RuntimeError(f"engine {self.base_url}: asked for n={k} choices, got {len(replies)} (does the server support n?)")
        return replies

    def sample(self, conversations: list[list[dict]], k: int, generation: GenerationConfig, seed: int | None = None) -> list[list[GeneratedText]]:
        """`k` replies per conversation, grouped, in input order."""
        items = [(i, list(messages), k, generation, seed) for i, messages in enumerate(conversations)]
        if len(items) <= 1 or self.config.concurrency == 1:
            return [self._request(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.config.concurrency, len(items))) as pool:
            return list(pool.map(self._request, items))

    def generate_chat(self, conversations: list[list[dict]], generation: GenerationConfig, seed: int | None = None) -> list[GeneratedText]:
        return [group[0] for group in self.sample(conversations, 1, generation, seed=seed)]

    def close(self) -> None:
        self._client.close()
